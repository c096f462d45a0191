//! `spikedelay train`: the library's run manager ([`RunPlan`]) with progress bars and one line
//! per run step.

use anyhow::Result;
use spikedelay::config::RunConfig;
use spikedelay::data::{LoadProgress, SelectOn, Splits};
use spikedelay::train::{
    EpochMetrics, RunObserver, RunOutcome, RunStarted, Summary, TrainObserver,
};

use crate::args::TrainArgs;
use crate::hints::with_data_hint;
use crate::progress::{DataProgress, TrainProgress};

/// Trains (once, or once per seed of `--seeds`), writing into the plan's output folder, and
/// prints the summary.
pub fn run(args: &TrainArgs) -> Result<()> {
    let mut plan = crate::plan::train_plan(args)?;
    plan.collective = collective()?;
    let layout = plan
        .layout
        .clone()
        .expect("the command line always names a folder");
    if let Some(c) = plan.collective.as_ref().filter(|c| c.rank() > 0) {
        // A data-parallel process other than the first: trains in step, prints and writes
        // nothing (rank 0 does).
        let _ = c;
        plan.run(&mut ())
            .map_err(|e| with_data_hint(e, &plan.config.data))?;
        return Ok(());
    }
    if let Some(c) = &plan.collective {
        println!(
            "data parallel: {}, train.shards = {} ({} per process)",
            c.describe(),
            plan.config.train.shards,
            plan.config.train.shards / c.size().max(1)
        );
    }
    let mut observer = Printer::default();
    let outcome = plan
        .run(&mut observer)
        .map_err(|e| with_data_hint(e, &plan.config.data))?;
    if let RunOutcome::Seeds {
        summaries,
        aggregate,
    } = &outcome
    {
        println!(
            "{} seeds: test accuracy {:.2} ± {:.2}% at the selected epoch, {:.2} ± {:.2}% at the \
             last (mean ± sample std); {}",
            summaries.len(),
            100.0 * aggregate.test_accuracy.mean,
            100.0 * aggregate.test_accuracy.std,
            100.0 * aggregate.last_epoch_test_accuracy.mean,
            100.0 * aggregate.last_epoch_test_accuracy.std,
            layout.aggregate().display()
        );
    }
    if args.plot {
        let root = layout.root();
        crate::cmd::plot::draw(root, &crate::plot::default_dir(root), 0)?;
    }
    Ok(())
}

/// The MPI job this process belongs to, when an MPI launcher started it (a binary built with
/// the `mpi` feature); else `None` (one process).
fn collective() -> Result<Option<std::sync::Arc<dyn spikedelay::train::parallel::Collective>>> {
    #[cfg(feature = "mpi")]
    {
        if let Some(m) = spikedelay::train::parallel::mpi::Mpi::from_launcher()? {
            return Ok(Some(std::sync::Arc::new(m)));
        }
    }
    Ok(None)
}

/// Progress bars for data and epochs, and a line for each step of a run.
#[derive(Default)]
struct Printer {
    data: DataProgress,
    epochs: Option<TrainProgress>,
    select_on: Option<SelectOn>,
}

impl LoadProgress for Printer {
    fn start(&mut self, what: &str, total: usize) {
        self.data.start(what, total);
    }
    fn advance(&mut self, n: usize) {
        self.data.advance(n);
    }
    fn finish(&mut self) {
        self.data.finish();
    }
    fn note(&mut self, message: &str) {
        self.data.note(message);
    }
}

impl TrainObserver for Printer {
    fn epoch_started(&mut self, epoch: usize, epochs: usize, batches: usize) {
        let bar = self
            .epochs
            .get_or_insert_with(|| TrainProgress::new(epochs));
        bar.epoch_started(epoch, epochs, batches);
    }
    fn batch_finished(&mut self, loss: f64) {
        if let Some(p) = &mut self.epochs {
            p.batch_finished(loss);
        }
    }
    fn evaluating(&mut self) {
        if let Some(p) = &mut self.epochs {
            p.evaluating();
        }
    }
    fn epoch_finished(&mut self, metrics: &EpochMetrics) {
        if let Some(p) = &mut self.epochs {
            p.epoch_finished(metrics);
        }
    }
}

impl RunObserver for Printer {
    fn run_started(&mut self, run: &RunStarted<'_>) {
        if let Some(seed) = run.seed {
            println!("seed {seed} → {}", folder(run));
        }
        describe(run.config, run.splits, run);
        self.epochs = Some(TrainProgress::new(run.config.train.epochs));
        self.select_on = Some(run.config.data.select_on());
    }

    fn seed_skipped(&mut self, seed: u64, summary: &Summary) {
        println!(
            "seed {seed}: finished earlier (test accuracy {:.2}%), skipped",
            100.0 * summary.test_accuracy
        );
    }

    fn run_finished(&mut self, summary: &Summary) {
        let selected = match self.select_on {
            Some(SelectOn::Test) => {
                "selected by its TEST accuracy (the test set also selects, so this is optimistic)"
                    .to_string()
            }
            _ => format!(
                "selected by its validation accuracy {:.2}%",
                100.0 * summary.best_valid_accuracy
            ),
        };
        println!(
            "test accuracy {:.2}% ({}/{}) at epoch {} of {}, {selected}; last epoch {:.2}%; {:.1}s",
            100.0 * summary.test_accuracy,
            summary.test_correct,
            summary.test_samples,
            summary.best_epoch,
            summary.epochs,
            100.0 * summary.last_epoch_test_accuracy,
            summary.wall_seconds
        );
    }
}

/// The run's folder, for messages.
fn folder(run: &RunStarted<'_>) -> String {
    run.layout.map_or_else(
        || "(nothing written)".into(),
        |l| l.root().display().to_string(),
    )
}

/// The data, selection and network of a run about to train.
fn describe(config: &RunConfig, splits: &Splits, run: &RunStarted<'_>) {
    let net = run.network;
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
        "network: {} → {} → {} ({} delays, D = {}, τ = {:.3} steps), {} trainable parameters; \
         writing to {}",
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
        folder(run)
    );
    if run.epochs_done > 0 {
        println!("resuming after epoch {}", run.epochs_done);
    }
}

/// The splits `config` names, with a hint for data that is not there yet.
pub fn load(config: &RunConfig) -> Result<Splits> {
    config
        .data
        .load(config.model.time_step_ms, &mut DataProgress::default())
        .map_err(|e| with_data_hint(e, &config.data))
}
