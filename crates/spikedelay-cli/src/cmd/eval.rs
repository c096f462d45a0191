//! `spikedelay eval`: a checkpoint (float, and with `--quantize loihi` Loihi's fixed point) or an
//! exported NIR/netx file (`--model`).

use std::path::Path;

use anyhow::{Context, Result, bail};
use spikedelay::config::RunConfig;
use spikedelay::data::{Dataset, Splits, make_batch};
use spikedelay::export::{
    DeployedNetwork, GraphRunner, LoihiNetwork, OpenedModel, Trace, write_trace,
};
use spikedelay::infer::{EvalResult, SampleSteps, evaluate, evaluate_with};
use spikedelay::seq::Seq;
use spikedelay::train::{Checkpoint, RunLayout};

use crate::args::{EvalArgs, Quantize};

/// One evaluated form of the network: its name and each split's result.
type Runs = Vec<(String, Vec<(&'static str, EvalResult)>)>;

/// Evaluates a checkpoint's rounded (integer-delay) model on its task's splits, or an exported
/// file with `--model`.
pub fn run(args: &EvalArgs) -> Result<()> {
    if let Some(model) = &args.network.model {
        return run_model(args, model);
    }
    let given = args
        .network
        .checkpoint
        .as_ref()
        .expect("clap requires --checkpoint or --model");
    // A run folder stands for its best checkpoint.
    let path = &RunLayout::checkpoint(given)?;
    let mut ck = Checkpoint::load(path)?;
    set_data_dir(&mut ck.config, args)?;
    let splits = crate::cmd::train::load(&ck.config)?;
    let batch_size = args.batch_size.unwrap_or(ck.config.train.batch_size).max(1);
    let steps = args.eval_steps.unwrap_or(ck.config.train.eval_steps);
    let epochs = ck.progress.as_ref().map_or(0, |p| p.epochs_done);
    let hidden = ck.network.blocks.len();
    let mut runs: Runs = match args.device.open()? {
        None => vec![(
            "integer delays (event-driven)".into(),
            each_split(&splits, |d| {
                Ok(evaluate(&ck.network, d, batch_size, steps)?)
            })?,
        )],
        Some(acc) => {
            let dev = acc.network(&ck.network, &[])?;
            vec![(
                format!("integer delays (on {}: {})", acc.device, acc.name()),
                each_split(&splits, |d| {
                    Ok(evaluate_with(d, batch_size, hidden, steps, |x, _| {
                        dev.forward_eval(x)
                    })?)
                })?,
            )]
        }
    };
    let deployed = DeployedNetwork::from_network(&ck.network, ck.config.model.time_step_ms);
    let loihi = match args.network.quantize {
        Some(Quantize::Loihi) => {
            let (q, report) = LoihiNetwork::quantize(&deployed, args.network.clip_delays)?;
            if report.clipped_delays > 0 {
                eprintln!("note: {} delays clipped to 62 steps", report.clipped_delays);
            }
            let tail = q.tail_steps;
            runs.push((
                "Loihi 2 fixed point (lockstep, as Lava runs it)".into(),
                each_split(&splits, |d| {
                    Ok(evaluate_with(
                        d,
                        batch_size,
                        hidden,
                        steps,
                        |x, lengths| q.forward(x, lengths, tail),
                    )?)
                })?,
            ));
            Some(q)
        }
        _ => None,
    };
    if let Some(out) = &args.trace {
        let forward = |x: &Seq, lengths: &[usize]| match &loihi {
            Some(q) => q.forward(x, lengths, q.tail_steps),
            None => GraphRunner::new(&deployed.to_graph(), deployed.dt())?.forward(
                x,
                lengths,
                deployed.tail_steps,
            ),
        };
        let test = splits.test.as_ref();
        let (tail, step) = (deployed.tail_steps, deployed.time_step_ms);
        write_samples(out, args.trace_samples, test, tail, step, forward)?;
    }
    if args.json {
        let mut obj = serde_json::Map::new();
        obj.insert("checkpoint".into(), path.display().to_string().into());
        obj.insert("delays".into(), ck.config.model.delays.to_string().into());
        obj.insert("epochs".into(), epochs.into());
        obj.insert("batch_size".into(), batch_size.into());
        obj.insert("eval_steps".into(), steps.to_string().into());
        for (name, r) in &runs[0].1 {
            obj.insert((*name).into(), split_json(r));
        }
        if let Some((_, fixed)) = runs.get(1) {
            let splits = fixed.iter().map(|(n, r)| ((*n).to_string(), split_json(r)));
            obj.insert("loihi".into(), serde_json::Value::Object(splits.collect()));
        }
        println!("{}", serde_json::Value::Object(obj));
        return Ok(());
    }
    println!(
        "{}: {} delays, {} parameters, saved after epoch {}",
        path.display(),
        ck.config.model.delays,
        ck.network.parameter_count(),
        epochs
    );
    print_runs(&runs, batch_size, steps);
    Ok(())
}

/// `eval --model FILE`.
fn run_model(args: &EvalArgs, path: &Path) -> Result<()> {
    if args.network.quantize.is_some() {
        bail!("--quantize applies to --checkpoint; a netx file is already Loihi's fixed point");
    }
    let base = match &args.config {
        Some(c) => Some(RunConfig::from_toml_file(c)?),
        None => None,
    };
    let step = base.as_ref().map(|c| c.model.time_step_ms);
    let model = OpenedModel::open(path, step)?;
    let mut config = match (base, &model.config) {
        (Some(c), _) => c,
        (None, Some(text)) => RunConfig::from_toml_str(text)
            .with_context(|| format!("{}: the stored run configuration", path.display()))?,
        (None, None) => bail!(
            "{}: the file carries no run configuration (it was not written by spikedelay); \
             give one with --config FILE.toml naming the data",
            path.display()
        ),
    };
    set_data_dir(&mut config, args)?;
    let splits = crate::cmd::train::load(&config)?;
    if splits.test.channels() != model.inputs() {
        bail!(
            "{}: the network takes {} input channels but the data has {}",
            path.display(),
            model.inputs(),
            splits.test.channels()
        );
    }
    let batch_size = args.batch_size.unwrap_or(config.train.batch_size).max(1);
    let steps = args.eval_steps.unwrap_or(config.train.eval_steps);
    let hidden = model.hidden;
    let mut runs: Runs = vec![(
        "lockstep (every layer runs every step, as a chip does)".into(),
        each_split(&splits, |d| {
            Ok(evaluate_with(d, batch_size, hidden, steps, |x, l| {
                model.forward(x, l)
            })?)
        })?,
    )];
    if model
        .forward_protocol(&Seq::zeros(1, 1, model.inputs()), &[1])
        .is_some()
    {
        runs.push((
            "evaluation protocol (each layer cut at its horizon, as `eval --checkpoint`)".into(),
            each_split(&splits, |d| {
                Ok(evaluate_with(d, batch_size, hidden, steps, |x, l| {
                    model.forward_protocol(x, l).expect("checked above")
                })?)
            })?,
        ));
    }
    if let Some(out) = &args.trace {
        let step = config.model.time_step_ms;
        write_samples(
            out,
            args.trace_samples,
            splits.test.as_ref(),
            model.tail_steps,
            step,
            |x, l| model.forward(x, l),
        )?;
    }
    if args.json {
        let mut obj = serde_json::Map::new();
        obj.insert("model".into(), path.display().to_string().into());
        for (k, (_, results)) in ["lockstep", "protocol"].iter().zip(&runs) {
            let splits = results
                .iter()
                .map(|(n, r)| ((*n).to_string(), split_json(r)));
            obj.insert((*k).into(), serde_json::Value::Object(splits.collect()));
        }
        obj.insert("eval_steps".into(), steps.to_string().into());
        println!("{}", serde_json::Value::Object(obj));
        return Ok(());
    }
    let kind = match model.model {
        spikedelay::export::ExportedModel::Nir { .. } => "NIR graph (float)",
        spikedelay::export::ExportedModel::Netx(_) => "netx network (Loihi 2 fixed point)",
    };
    println!(
        "{}: {kind}, {hidden} spiking layers, {} tail steps",
        path.display(),
        model.tail_steps
    );
    print_runs(&runs, batch_size, steps);
    Ok(())
}

fn set_data_dir(config: &mut RunConfig, args: &EvalArgs) -> Result<()> {
    if let Some(dir) = &args.data_dir {
        let dir = crate::plan::absolute(dir)?;
        config
            .data
            .source_mut()
            .set_dir(dir)
            .context("--data-dir")?;
    }
    Ok(())
}

fn each_split(
    splits: &Splits,
    mut f: impl FnMut(&dyn Dataset) -> Result<EvalResult>,
) -> Result<Vec<(&'static str, EvalResult)>> {
    [("valid", &splits.valid), ("test", &splits.test)]
        .into_iter()
        .map(|(name, data)| Ok((name, f(data.as_ref())?)))
        .collect()
}

/// Runs the first `n` test samples and writes them as a trace.
fn write_samples(
    out: &Path,
    n: usize,
    test: &dyn Dataset,
    tail_steps: usize,
    time_step_ms: f64,
    forward: impl Fn(&Seq, &[usize]) -> spikedelay::Result<(Seq, Vec<Seq>)>,
) -> Result<()> {
    let idx: Vec<usize> = (0..n.min(test.len())).collect();
    if idx.is_empty() {
        bail!("--trace: the test split has no samples");
    }
    let batch = make_batch(test, &idx);
    // The trace runs every sample over the whole padded batch (zero input after its own
    // steps), as the targets' simulators are driven with it (tools/deploy).
    let padded = vec![batch.x.steps; idx.len()];
    let (readout, spikes) = forward(&batch.x, &padded)?;
    let labels: Vec<u32> = batch.labels.iter().map(|&l| l as u32).collect();
    write_trace(
        out,
        &Trace {
            input: &batch.x,
            labels: &labels,
            spikes: &spikes,
            readout: &readout,
            tail_steps,
            time_step_ms,
        },
    )?;
    eprintln!("wrote {} samples as run to {}", idx.len(), out.display());
    Ok(())
}

fn print_runs(runs: &Runs, batch_size: usize, steps: SampleSteps) {
    match steps {
        SampleSteps::Own => println!(
            "each sample over its own steps (the same at any --batch-size, and as `stream`)"
        ),
        SampleSteps::PaddedBatch => println!(
            "samples padded to their batch's longest, as the reference evaluates (these figures \
             depend on --batch-size {batch_size})"
        ),
    }
    for (label, results) in runs {
        println!("{label}:");
        for (name, r) in results {
            let rates = r
                .spike_rates
                .iter()
                .map(|x| format!("{x:.3}"))
                .collect::<Vec<_>>()
                .join("/");
            println!(
                "{name:>7}: accuracy {:6.2}% ({}/{})  loss {:.4}  spike rate {rates}  \
                 (reference's batch mean at batch size {batch_size}: {:.2}%)",
                100.0 * r.accuracy,
                r.correct,
                r.samples,
                r.loss,
                100.0 * r.batch_mean_accuracy,
            );
        }
    }
}

/// One split's result as JSON.
fn split_json(r: &EvalResult) -> serde_json::Value {
    serde_json::json!({
        "accuracy": r.accuracy,
        "correct": r.correct,
        "samples": r.samples,
        "loss": r.loss,
        "accuracy_batch_mean": r.batch_mean_accuracy,
        "spike_rates": r.spike_rates,
        "per_class_accuracy": r.per_class_accuracy(),
        "confusion": r.confusion,
    })
}
