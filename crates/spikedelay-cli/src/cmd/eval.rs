//! `spikedelay eval`.

use anyhow::Result;
use spikedelay::infer::{EvalResult, evaluate};
use spikedelay::train::Checkpoint;

use crate::args::EvalArgs;

/// Evaluates a checkpoint's rounded (integer-delay) model on its task's splits.
pub fn run(args: &EvalArgs) -> Result<()> {
    let mut ck = Checkpoint::load(&args.checkpoint)?;
    if let Some(dir) = &args.data_dir {
        let dir = crate::plan::absolute(dir)?;
        ck.config
            .data
            .source_mut()
            .set_dir(dir)
            .map_err(|e| anyhow::anyhow!("--data-dir: {e}"))?;
    }
    let splits = crate::cmd::train::load(&ck.config)?;
    let batch_size = args.batch_size.unwrap_or(ck.config.train.batch_size).max(1);
    let epochs = ck.progress.as_ref().map_or(0, |p| p.epochs_done);
    let results = [("valid", &splits.valid), ("test", &splits.test)]
        .into_iter()
        .map(|(name, data)| Ok((name, evaluate(&ck.network, data.as_ref(), batch_size)?)))
        .collect::<Result<Vec<_>>>()?;
    if args.json {
        let mut obj = serde_json::Map::new();
        obj.insert(
            "checkpoint".into(),
            args.checkpoint.display().to_string().into(),
        );
        obj.insert("delays".into(), ck.config.model.delays.to_string().into());
        obj.insert("epochs".into(), epochs.into());
        obj.insert("batch_size".into(), batch_size.into());
        for (name, r) in &results {
            obj.insert((*name).into(), split_json(r));
        }
        println!("{}", serde_json::Value::Object(obj));
        return Ok(());
    }
    println!(
        "{}: {} delays, {} parameters, trained {} epochs; evaluating with integer delays (event-driven)",
        args.checkpoint.display(),
        ck.config.model.delays,
        ck.network.parameter_count(),
        epochs
    );
    for (name, r) in &results {
        let rates = r
            .spike_rates
            .iter()
            .map(|x| format!("{x:.3}"))
            .collect::<Vec<_>>()
            .join("/");
        println!(
            "{name:>5}: accuracy {:6.2}% ({}/{})  loss {:.4}  spike rate {rates}  \
             (reference's batch mean at batch size {batch_size}: {:.2}%)",
            100.0 * r.accuracy,
            r.correct,
            r.samples,
            r.loss,
            100.0 * r.batch_mean_accuracy,
        );
    }
    Ok(())
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
