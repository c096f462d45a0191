//! `spikedelay bench`.

use anyhow::{Result, bail};

use crate::args::BenchArgs;
use spikedelay::model::Sig;

use crate::bench::{self, CaseOptions, Phase, Workload};

/// Runs `spikedelay bench`.
pub fn run(args: &BenchArgs) -> Result<()> {
    let workloads: Vec<Workload> = args.workload.iter().map(|w| w.workload()).collect();
    let phases = &args.phase;
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    if let Some(s) = args.sigma {
        let least = Sig::ZERO.gauss_width();
        if !(s.is_finite() && s >= least) {
            bail!("--sigma {s}: σ_eff = |SIG| + {least} must be a number ≥ {least}");
        }
        if !phases.iter().any(|p| p.is_training()) {
            bail!("--sigma sets the σ of training steps, but --phase names no train-* phase");
        }
    }
    let opts = CaseOptions {
        path: args.conv_path,
        sigma: args.sigma,
        warmup: args.warmup,
        runs: args.runs,
    };
    if let Some(path) = &args.write_input {
        let [w] = workloads.as_slice() else {
            bail!("--write-input needs exactly one --workload");
        };
        let (x, y) = w.synthetic_input(0);
        bench::write_input(path, &x, &y)?;
        println!(
            "wrote {} ({} × {} × {}, {:.1} % non-zero)",
            path.display(),
            x.steps,
            x.batch,
            x.channels,
            100.0 * x.density()
        );
        return Ok(());
    }
    let threads = rayon::current_num_threads();
    let device = args.device.open()?;
    let device_name = match &device {
        Some(d) => format!("{} ({})", d.device, d.name()),
        None => "cpu".to_string(),
    };
    if device.is_some() {
        eprintln!("training steps and `infer` on {device_name}; `infer-dense` on the CPU");
    }
    if !args.json {
        println!("| workload | phase | σ | threads | median s | runs | hidden spike rates |");
        println!("| --- | --- | --- | --- | --- | --- | --- |");
    }
    for w in &workloads {
        let (x, y) = match &args.input {
            Some(path) => bench::read_input(path)?,
            None => w.synthetic_input(0),
        };
        if x.channels != w.network.inputs {
            bail!(
                "--input {}: {} channels, the {} workload needs {}",
                args.input
                    .as_ref()
                    .map_or("".into(), |p| p.display().to_string()),
                x.channels,
                w.name,
                w.network.inputs
            );
        }
        let mut w = w.clone();
        w.batch = x.batch;
        w.steps = x.steps;
        for &phase in phases {
            if phase == Phase::Layers {
                print_layers(&w, &x, args, threads)?;
                continue;
            }
            let t = bench::run(&w, phase, &x, &y, opts, device.as_ref())?;
            let sigma = phase
                .is_training()
                .then(|| bench::phase_sig(&w, phase, args.sigma).gauss_width());
            let rates = t
                .spike_rates
                .iter()
                .map(|r| format!("{r:.3}"))
                .collect::<Vec<_>>();
            if args.json {
                let obj = serde_json::json!({
                    "impl": "spikedelay",
                    "config": w.name,
                    "phase": phase.name(),
                    "sigma": sigma,
                    "conv_path": args.conv_path,
                    "threads": threads,
                    "device": if phase.is_training() || phase == Phase::Infer {
                        device_name.as_str()
                    } else {
                        "cpu"
                    },
                    "batch": w.batch,
                    "steps": w.steps,
                    "median_s": t.median(),
                    "runs_s": t.seconds,
                    "spike_rates": t.spike_rates,
                    "peak_rss_bytes": bench::peak_rss_bytes(),
                    "peak_device_bytes": device.as_ref().map(|d| d.peak_bytes()),
                });
                println!("{obj}");
            } else {
                let runs = t
                    .seconds
                    .iter()
                    .map(|s| format!("{s:.3}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                let sigma = sigma.map_or("–".into(), |s| format!("{s:.2}"));
                println!(
                    "| {} | {} | {sigma} | {threads} | {:.3} | {runs} | {} |",
                    w.name,
                    phase.name(),
                    t.median(),
                    rates.join("/")
                );
            }
        }
    }
    Ok(())
}

/// The layers phase: one line (or JSON object) per layer and path.
fn print_layers(
    w: &Workload,
    x: &spikedelay::seq::Seq,
    args: &BenchArgs,
    threads: usize,
) -> Result<()> {
    let sigma = bench::phase_sig(w, Phase::Layers, args.sigma).gauss_width();
    let rows = bench::layer_timings(w, x, args.sigma, args.warmup, args.runs)?;
    if !args.json {
        println!();
        println!(
            "{} layers at σ = {sigma:.2}, {threads} threads (forward + backward):",
            w.name
        );
        println!("| layer | shape | input density | path | runs as | median ms |");
        println!("| --- | --- | --- | --- | --- | --- |");
    }
    for r in rows {
        if args.json {
            let obj = serde_json::json!({
                "impl": "spikedelay",
                "config": w.name,
                "phase": "layers",
                "sigma": sigma,
                "threads": threads,
                "layer": r.layer,
                "shape": r.shape,
                "density": r.density,
                "conv_path": r.path,
                "plan": r.plan,
                "median_s": r.seconds,
            });
            println!("{obj}");
        } else {
            println!(
                "| {} | {} | {:.3} | {} | {} | {:.1} |",
                r.layer,
                r.shape,
                r.density,
                serde_json::to_value(r.path)?.as_str().unwrap_or("?"),
                r.plan,
                1e3 * r.seconds
            );
        }
    }
    Ok(())
}
