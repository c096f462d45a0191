//! `spikedelay bench`.

use anyhow::{Result, bail};

use crate::args::BenchArgs;
use crate::bench::{self, Workload};

/// Runs `spikedelay bench`.
pub fn run(args: &BenchArgs) -> Result<()> {
    let workloads: Vec<Workload> = args.workload.iter().map(|w| w.workload()).collect();
    let phases = &args.phase;
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
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
    if !args.json {
        println!("| workload | phase | threads | median s | runs | hidden spike rates |");
        println!("| --- | --- | --- | --- | --- | --- |");
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
            let t = bench::run(&w, phase, args.conv_path, &x, &y, args.warmup, args.runs)?;
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
                    "conv_path": args.conv_path,
                    "threads": threads,
                    "batch": w.batch,
                    "steps": w.steps,
                    "median_s": t.median(),
                    "runs_s": t.seconds,
                    "spike_rates": t.spike_rates,
                    "peak_rss_bytes": bench::peak_rss_bytes(),
                });
                println!("{obj}");
            } else {
                let runs = t
                    .seconds
                    .iter()
                    .map(|s| format!("{s:.3}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                println!(
                    "| {} | {} | {threads} | {:.3} | {runs} | {} |",
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
