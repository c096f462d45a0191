//! `spikedelay eval`.

use anyhow::Result;
use spikedelay::data::load_splits;
use spikedelay::train::{Checkpoint, evaluate};

use crate::progress::DataProgress;

use crate::args::EvalArgs;

/// Evaluates a checkpoint's rounded (integer-delay) model on its task's splits.
pub fn run(args: &EvalArgs) -> Result<()> {
    let ck = Checkpoint::load(&args.checkpoint)?;
    let splits = load_splits(&ck.config, &mut DataProgress::default())?;
    let batch_size = args.batch_size.unwrap_or(ck.config.train.batch_size).max(1);
    let epochs = ck.progress.as_ref().map_or(0, |p| p.epochs_done);
    println!(
        "{}: {} delays, {} parameters, trained {} epochs; evaluating with integer delays (event-driven)",
        args.checkpoint.display(),
        ck.config.model.delays,
        ck.network.parameter_count(),
        epochs
    );
    for (name, data) in [("valid", &splits.valid), ("test", &splits.test)] {
        let r = evaluate(&ck.network, data.as_ref(), batch_size)?;
        let rates = r
            .spike_rates
            .iter()
            .map(|x| format!("{x:.3}"))
            .collect::<Vec<_>>()
            .join("/");
        println!(
            "{name:>5}: accuracy {:6.2}%  loss {:.4}  spike rate {rates}  ({} samples)",
            100.0 * r.accuracy,
            r.loss,
            data.len()
        );
    }
    Ok(())
}
