//! `spikedelay export`.

use anyhow::{Context, Result, bail};
use spikedelay::export::{ExportFormat, ExportOptions, export};
use spikedelay::infer::{evaluate, evaluate_with};
use spikedelay::train::Checkpoint;

use crate::args::{ExportArgs, Quantize};

/// Writes the checkpoint's network as `--format`, says what changed, and (with the data at
/// hand) the float and exported accuracy.
pub fn run(args: &ExportArgs) -> Result<()> {
    match (args.format, args.quantize) {
        (ExportFormat::Netx, Some(Quantize::None)) => bail!(
            "--format netx is Loihi's fixed point; --quantize none applies to nir and synapses"
        ),
        (ExportFormat::Nir | ExportFormat::Synapses, Some(Quantize::Loihi)) => bail!(
            "--quantize loihi: Loihi's fixed point is exact only in --format netx (NIR and \
             synapse lists are float); `eval --checkpoint F --quantize loihi` runs it here"
        ),
        _ => {}
    }
    if args.nir_dt.is_some() && args.format != ExportFormat::Nir {
        bail!("--nir-dt applies to --format nir");
    }
    let mut ck = Checkpoint::load(&args.checkpoint)?;
    let options = ExportOptions {
        clip_delays: args.clip_delays,
        nir_dt: args.nir_dt,
    };
    let exported = export(&ck, args.format, &args.out, &options)?;
    let net = &exported.deployed;
    let synapses: usize = net.layers.iter().map(|l| l.synapses().len()).sum();
    let max_delay = net.layers.iter().map(|l| l.max_delay()).max().unwrap_or(0);
    println!(
        "wrote {} ({:?}): {} layers, {synapses} synapses, delays 0..={max_delay} steps of {} ms, \
         {} tail steps after each sample",
        args.out.display(),
        args.format,
        net.layers.len(),
        net.time_step_ms,
        net.tail_steps
    );
    println!("changes: {}", spikedelay::export::CHANGES);
    if let Some((_, report)) = &exported.loihi {
        println!("fixed point: {}", spikedelay::export::loihi::CHANGES);
        let errs: Vec<String> = report
            .weight_error
            .iter()
            .map(|e| format!("{:.2}%", 100.0 * e))
            .collect();
        println!(
            "  largest weight rounding per layer (of max|w|): {}; {} delays clipped",
            errs.join(", "),
            report.clipped_delays
        );
    }
    if args.no_eval {
        return Ok(());
    }
    if let Some(dir) = &args.data_dir {
        let dir = crate::plan::absolute(dir)?;
        ck.config
            .data
            .source_mut()
            .set_dir(dir)
            .context("--data-dir")?;
    }
    let splits = match crate::cmd::train::load(&ck.config) {
        Ok(s) => s,
        Err(e) => {
            println!("(accuracy not reported: the checkpoint's data is not at hand: {e:#})");
            return Ok(());
        }
    };
    let test = splits.test.as_ref();
    let batch = ck.config.train.batch_size.max(1);
    let steps = ck.config.train.eval_steps;
    let float = evaluate(&ck.network, test, batch, steps)?;
    print!(
        "test accuracy: float (integer delays) {:.2}% ({}/{})",
        100.0 * float.accuracy,
        float.correct,
        float.samples
    );
    if let Some((q, _)) = &exported.loihi {
        let hidden = ck.network.blocks.len();
        let fixed = evaluate_with(test, batch, hidden, steps, |x, l| {
            q.forward(x, l, q.tail_steps)
        })?;
        print!(
            ", Loihi 2 fixed point {:.2}% ({}/{})",
            100.0 * fixed.accuracy,
            fixed.correct,
            fixed.samples
        );
    }
    println!();
    Ok(())
}
