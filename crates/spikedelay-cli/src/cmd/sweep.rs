//! `spikedelay sweep`: the library's sweep ([`Sweep`]) created from the base configuration and
//! the grid, then trained here, written (and submitted) as a Slurm job array, or, with
//! `--task I`, one run of it trained (what each array task does).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result, bail};
use spikedelay::config::RunConfig;
use spikedelay::train::EpochMetrics;
use spikedelay::train::sweep::local::{LocalOutcome, SweepObserver, run_indices, run_local};
use spikedelay::train::sweep::table::{TableFormat, render, rows};
use spikedelay::train::sweep::{Sweep, slurm};

use crate::args::SweepArgs;

/// Set by Ctrl-C or SIGTERM (Slurm's preemption signal): every run stops at its next batch.
fn stop_flag() -> Result<Arc<AtomicBool>> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    if let Some(f) = FLAG.get() {
        return Ok(f.clone());
    }
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    ctrlc::set_handler(move || {
        if f.swap(true, Ordering::SeqCst) {
            // A second Ctrl-C: leave now (folders stay at their last committed epoch).
            std::process::exit(130);
        }
        eprintln!("stopping: every run ends at its next batch (Ctrl-C again to leave now)");
    })
    .context("installing the Ctrl-C handler")?;
    Ok(FLAG.get_or_init(|| flag).clone())
}

/// Runs `spikedelay sweep`.
pub fn run(args: &SweepArgs) -> Result<()> {
    let threads = match args.threads.threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    if let Some(index) = args.task {
        let sweep = Sweep::open(&args.out)?;
        let stop = stop_flag()?;
        let mut observer = Lines {
            sweep: &sweep,
            runs: sweep.runs().len(),
        };
        let outcome = run_indices(&sweep, &[index], 1, threads, &stop, &mut observer)?;
        return finish(&outcome);
    }
    if args.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    let base = args.preset.map(|p| p.config()).unwrap_or_default();
    let mut base = match &args.config {
        Some(path) => RunConfig::from_toml_file_over(&base, path)?,
        None => base,
    };
    base.data
        .source_mut()
        .resolve_paths(&std::env::current_dir().context("reading the working folder")?);
    let sweep = Sweep::create(&args.out, &base, args.grid.clone(), args.seeds.0.clone())?;
    println!(
        "sweep of {} runs ({} grid points × {} seeds) in {}",
        sweep.runs().len(),
        sweep.points().len(),
        sweep.manifest().seeds.len(),
        sweep.root().display()
    );
    if args.slurm {
        let exe = std::env::current_exe().context("finding the spikedelay executable")?;
        let script = slurm::write_script(&sweep, &exe, &args.slurm_opt)?;
        println!("wrote {}", script.display());
        if args.submit {
            let job = slurm::submit(&script)?;
            println!(
                "submitted job array {job}; follow it with `squeue -j {job}`, then run \
                 `spikedelay report {}`",
                sweep.root().display()
            );
        } else {
            println!("submit it with `sbatch {}`", script.display());
        }
        return Ok(());
    }
    let stop = stop_flag()?;
    let mut observer = Lines {
        sweep: &sweep,
        runs: sweep.runs().len(),
    };
    let outcomes = run_local(&sweep, args.jobs, threads, &stop, &mut observer)?;
    let keys: Vec<String> = sweep
        .manifest()
        .grid
        .iter()
        .map(|a| a.key.clone())
        .collect();
    print!("\n{}", render(&keys, &rows(&sweep)?, TableFormat::Md));
    finish(&outcomes)
}

/// An error when any run failed or was stopped.
fn finish(outcomes: &[LocalOutcome]) -> Result<()> {
    let failed = outcomes
        .iter()
        .filter(|o| matches!(o, LocalOutcome::Failed(_)))
        .count();
    let stopped = outcomes
        .iter()
        .filter(|o| matches!(o, LocalOutcome::Stopped))
        .count();
    if failed > 0 {
        bail!(
            "{failed} of {} runs failed (their errors are above)",
            outcomes.len()
        );
    }
    if stopped > 0 {
        bail!(
            "stopped with {stopped} of {} runs unfinished; run the same command again to \
             continue them",
            outcomes.len()
        );
    }
    Ok(())
}

/// One line per run step: `[3/9 model.delays=fixed seed1] …`.
struct Lines<'a> {
    sweep: &'a Sweep,
    runs: usize,
}

impl Lines<'_> {
    fn tag(&self, index: usize) -> String {
        format!(
            "[{}/{} {}]",
            index + 1,
            self.runs,
            self.sweep.runs()[index].dir.display()
        )
    }
}

impl SweepObserver for Lines<'_> {
    fn run_started(&mut self, index: usize, epochs_done: usize) {
        if epochs_done > 0 {
            println!("{} resuming after epoch {epochs_done}", self.tag(index));
        } else {
            println!("{} started", self.tag(index));
        }
    }
    fn epoch_finished(&mut self, index: usize, m: &EpochMetrics) {
        println!(
            "{} epoch {}: train loss {:.4}, valid {:.2}%, test {:.2}% ({:.1}s)",
            self.tag(index),
            m.epoch,
            m.train_loss,
            100.0 * m.valid_accuracy,
            100.0 * m.test_accuracy,
            m.seconds
        );
    }
    fn run_ended(&mut self, index: usize, outcome: &LocalOutcome) {
        let tag = self.tag(index);
        match outcome {
            LocalOutcome::Skipped(s) => println!(
                "{tag} finished earlier: test {:.2}% ({}/{}), skipped",
                100.0 * s.test_accuracy,
                s.test_correct,
                s.test_samples
            ),
            LocalOutcome::Trained(s) => println!(
                "{tag} done: test {:.2}% ({}/{}) at epoch {}, last epoch {:.2}%, {:.1}s",
                100.0 * s.test_accuracy,
                s.test_correct,
                s.test_samples,
                s.best_epoch,
                100.0 * s.last_epoch_test_accuracy,
                s.wall_seconds
            ),
            LocalOutcome::Stopped => println!("{tag} stopped; a rerun continues it"),
            LocalOutcome::Failed(e) => eprintln!("{tag} failed: {e}"),
        }
    }
}
