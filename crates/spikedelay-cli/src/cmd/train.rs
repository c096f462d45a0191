//! `spikedelay train`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use spikedelay::config::RunConfig;
use spikedelay::data::{DataConfig, SelectOn, Splits};
use spikedelay::train::run_dir::holds_run;
use spikedelay::train::trainer::files;
use spikedelay::train::{Aggregate, Existing, Summary, Trainer, read_summary};

use crate::args::TrainArgs;
use crate::plan::TrainPlan;
use crate::progress::{DataProgress, TrainProgress};

/// Trains (once, or once per seed of `--seeds`), writing into the plan's output directory, and
/// prints the summary.
pub fn run(args: &TrainArgs) -> Result<()> {
    let plan = TrainPlan::from_args(args)?;
    let Some(seeds) = &plan.seeds else {
        run_one(
            &plan.config,
            &plan.out,
            plan.resume,
            args.overwrite,
            plan.resume_data_dir.clone(),
        )?;
        if args.plot {
            crate::cmd::plot::draw(&plan.out, &crate::plot::default_dir(&plan.out), 0)?;
        }
        return Ok(());
    };
    let mut summaries = Vec::new();
    for &seed in seeds {
        let out = plan.out.join(format!("seed{seed}"));
        let mut config = plan.config.clone();
        config.train.seed = seed;
        let stored = out.join(files::CONFIG);
        if !args.overwrite && stored.is_file() && RunConfig::from_toml_file(&stored)? != config {
            bail!(
                "{} holds a run of another configuration; choose another --out, or replace it \
                 with --overwrite",
                out.display()
            );
        }
        let done = out.join(files::SUMMARY);
        if !args.overwrite && done.is_file() {
            let s = read_summary(&done)?;
            println!(
                "seed {seed}: finished earlier (test accuracy {:.2}%), skipped",
                100.0 * s.test_accuracy
            );
            summaries.push(s);
            continue;
        }
        let resume = plan.resume && out.join(files::LAST).is_file();
        println!("seed {seed} → {}", out.display());
        summaries.push(run_one(&config, &out, resume, args.overwrite, None)?);
    }
    let agg = Aggregate::of(&summaries)?;
    let path = plan.out.join(files::AGGREGATE);
    agg.write(&path)?;
    println!(
        "{} seeds: test accuracy {:.2} ± {:.2}% at the selected epoch, {:.2} ± {:.2}% at the last \
         (mean ± sample std); {}",
        summaries.len(),
        100.0 * agg.test_accuracy.mean,
        100.0 * agg.test_accuracy.std,
        100.0 * agg.last_epoch_test_accuracy.mean,
        100.0 * agg.last_epoch_test_accuracy.std,
        path.display()
    );
    if args.plot {
        crate::cmd::plot::draw(&plan.out, &crate::plot::default_dir(&plan.out), 0)?;
    }
    Ok(())
}

/// One run of `config` into `out` (continued from its last checkpoint with `resume`; a run
/// already there replaced with `overwrite`, refused otherwise).
fn run_one(
    config: &RunConfig,
    out: &Path,
    resume: bool,
    overwrite: bool,
    data_dir: Option<PathBuf>,
) -> Result<Summary> {
    let (mut trainer, splits) = if resume {
        let mut trainer = Trainer::resume(out).map_err(|e| {
            let hint = match &e {
                spikedelay::Error::RunFolder { message, .. }
                    if message.starts_with("nothing to resume") =>
                {
                    " (train without --resume)"
                }
                _ => "",
            };
            anyhow::anyhow!("resuming the run in {}: {e}{hint}", out.display())
        })?;
        if let Some(dir) = data_dir {
            trainer
                .relocate_data(dir)
                .context("--data-dir for the resumed run")?;
        }
        let splits = load(trainer.config())?;
        (trainer, splits)
    } else {
        if !overwrite && let Some(what) = holds_run(out) {
            bail!(
                "{} holds a run ({what}); continue it with --resume, replace it with \
                 --overwrite, or choose another --out",
                out.display()
            );
        }
        let splits = load(config)?;
        let trainer = Trainer::new(
            config.clone(),
            splits.train.channels(),
            splits.train.classes(),
        )?
        .with_output(
            out,
            if overwrite {
                Existing::Overwrite
            } else {
                Existing::Refuse
            },
        )?;
        (trainer, splits)
    };
    let config = trainer.config().clone();
    let net = trainer.network();
    let steps: Vec<usize> = (0..splits.train.len())
        .map(|i| splits.train.steps(i))
        .collect();
    println!(
        "{}: {} train / {} valid / {} test samples, {} channels, {} classes, {}..{} steps; {}",
        config.data.name(),
        splits.train.len(),
        splits.valid.len(),
        splits.test.len(),
        splits.train.channels(),
        splits.train.classes(),
        steps.iter().min().unwrap_or(&0),
        steps.iter().max().unwrap_or(&0),
        config.data.input_description(config.model.time_step_ms)
    );
    println!("selection: {}", config.data.selection());
    println!(
        "network: {} → {} → {} ({} delays, D = {}, τ = {:.3} steps), {} trainable parameters; writing to {}",
        net.config.inputs,
        net.config
            .hidden
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" → "),
        net.config.outputs,
        config.model.delays,
        config.taps(),
        net.config.tau,
        net.parameter_count(),
        out.display()
    );
    if resume {
        println!("resuming after epoch {}", trainer.history().len());
    }
    let mut progress = TrainProgress::new(config.train.epochs);
    let summary = trainer.run(&splits, &mut progress)?;
    let selected = match config.data.select_on() {
        SelectOn::Valid => format!(
            "selected by its validation accuracy {:.2}%",
            100.0 * summary.best_valid_accuracy
        ),
        SelectOn::Test => {
            "selected by its TEST accuracy (the test set also selects, so this is optimistic)"
                .to_string()
        }
    };
    println!(
        "test accuracy {:.2}% ({}/{}) at epoch {} of {} (best_epoch = {} in summary.json, counted \
         from 0), {selected}; last epoch {:.2}%; {:.1}s",
        100.0 * summary.test_accuracy,
        summary.test_correct,
        summary.test_samples,
        summary.best_epoch + 1,
        summary.epochs,
        summary.best_epoch,
        100.0 * summary.last_epoch_test_accuracy,
        summary.wall_seconds
    );
    Ok(summary)
}

/// The splits `config` names, with hints for data that is not there yet.
pub fn load(config: &RunConfig) -> Result<Splits> {
    let loaded = config
        .data
        .load(config.model.time_step_ms, &mut DataProgress::default());
    loaded.map_err(|e| {
        let hint = match (&e, &config.data) {
            (spikedelay::Error::NotFound { .. }, DataConfig::SpikeFile(_)) => {
                let name = config.data.name();
                if ["shd", "ssc"].contains(&name.as_str()) {
                    format!(
                        "get it with `spikedelay data download {name} --data-dir DIR`, or write \
                         a stand-in with `spikedelay data make-synthetic --format shd DIR`"
                    )
                } else {
                    "spike files in the SHD layout; `spikedelay data make-synthetic --format \
                     shd DIR` writes a stand-in"
                        .into()
                }
            }
            (spikedelay::Error::NotFound { .. }, DataConfig::AudioFolder(_)) => {
                "get GSC with `spikedelay data download gsc --data-dir DIR`, or write a \
                 stand-in with `spikedelay data make-synthetic --format gsc DIR`"
                    .into()
            }
            _ => return anyhow::Error::new(e),
        };
        anyhow::anyhow!("{e}\n  hint: {hint}")
    })
}
