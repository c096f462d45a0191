//! A sweep run on this machine: `jobs` runs at a time, the machine's threads divided between
//! them (each run in its own thread pool), runs claimed in array order. A stop request (Ctrl-C)
//! ends every run at its next batch, leaving each folder at its last committed epoch, so a rerun
//! continues where this one stopped.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::{RunState, Sweep};
use crate::data::LoadProgress;
use crate::error::{Error, Result};
use crate::train::metrics::{EpochMetrics, Summary};
use crate::train::runs::{RunObserver, RunStarted};
use crate::train::trainer::TrainObserver;

/// What happened to one run of a local sweep.
#[derive(Debug)]
pub enum LocalOutcome {
    /// Finished in an earlier session; not run again.
    Skipped(Box<Summary>),
    /// Trained (or resumed) to its end now.
    Trained(Box<Summary>),
    /// Stopped by a stop request; a rerun continues it.
    Stopped,
    /// Failed with this error (the other runs went on).
    Failed(Error),
}

/// Reports from a local sweep's runners (called from several threads, one at a time).
pub trait SweepObserver: Send {
    /// Run `index` starts (or resumes) training.
    fn run_started(&mut self, _index: usize, _epochs_done: usize) {}
    /// Run `index` finished an epoch.
    fn epoch_finished(&mut self, _index: usize, _metrics: &EpochMetrics) {}
    /// Run `index` ended so.
    fn run_ended(&mut self, _index: usize, _outcome: &LocalOutcome) {}
}

impl SweepObserver for () {}

/// Runs every run of `sweep` not finished yet, `jobs` at a time with `threads` threads in all
/// (at least one each). Returns each run's outcome in array order.
pub fn run_local(
    sweep: &Sweep,
    jobs: usize,
    threads: usize,
    stop: &AtomicBool,
    observer: &mut dyn SweepObserver,
) -> Result<Vec<LocalOutcome>> {
    let all: Vec<usize> = (0..sweep.runs().len()).collect();
    run_indices(sweep, &all, jobs, threads, stop, observer)
}

/// Runs the runs `indices` of `sweep` (those not finished yet), `jobs` at a time with
/// `threads` threads in all. Returns their outcomes in the order of `indices`.
pub fn run_indices(
    sweep: &Sweep,
    indices: &[usize],
    jobs: usize,
    threads: usize,
    stop: &AtomicBool,
    observer: &mut dyn SweepObserver,
) -> Result<Vec<LocalOutcome>> {
    if let Some(&bad) = indices.iter().find(|&&i| i >= sweep.runs().len()) {
        return Err(Error::config(
            "task index",
            format!(
                "is {bad} but the sweep in {} has {} runs (0..{})",
                sweep.root().display(),
                sweep.runs().len(),
                sweep.runs().len().saturating_sub(1)
            ),
        ));
    }
    let n = indices.len();
    let jobs = jobs.clamp(1, n.max(1));
    let per_run = (threads / jobs).max(1);
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<Option<LocalOutcome>>> = Mutex::new((0..n).map(|_| None).collect());
    let observer = Mutex::new(observer);
    let pools = (0..jobs)
        .map(|_| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(per_run)
                .build()
                .map_err(|e| Error::config("--jobs", format!("cannot start a thread pool: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    std::thread::scope(|scope| {
        for pool in &pools {
            let (next, outcomes, observer) = (&next, &outcomes, &observer);
            scope.spawn(move || {
                loop {
                    let slot = next.fetch_add(1, Ordering::SeqCst);
                    if slot >= n {
                        break;
                    }
                    let index = indices[slot];
                    let outcome = if stop.load(Ordering::SeqCst) {
                        LocalOutcome::Stopped
                    } else if sweep.state(index) == RunState::Finished {
                        match sweep.run_one(index, &mut ()) {
                            Ok(s) => LocalOutcome::Skipped(Box::new(s)),
                            Err(e) => LocalOutcome::Failed(e),
                        }
                    } else {
                        let mut relay = Relay {
                            index,
                            stop,
                            observer,
                        };
                        match pool.install(|| sweep.run_one(index, &mut relay)) {
                            Ok(s) => LocalOutcome::Trained(Box::new(s)),
                            Err(Error::Interrupted { .. }) => LocalOutcome::Stopped,
                            Err(e) => LocalOutcome::Failed(e),
                        }
                    };
                    observer
                        .lock()
                        .expect("observer lock")
                        .run_ended(index, &outcome);
                    outcomes.lock().expect("outcomes lock")[slot] = Some(outcome);
                }
            });
        }
    });
    Ok(outcomes
        .into_inner()
        .expect("outcomes lock")
        .into_iter()
        .map(|o| o.unwrap_or(LocalOutcome::Stopped))
        .collect())
}

/// One runner's view: its run's reports go to the sweep's observer, tagged with the index.
struct Relay<'a, 'o> {
    index: usize,
    stop: &'a AtomicBool,
    observer: &'a Mutex<&'o mut dyn SweepObserver>,
}

impl LoadProgress for Relay<'_, '_> {}

impl TrainObserver for Relay<'_, '_> {
    fn should_stop(&mut self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
    fn epoch_finished(&mut self, metrics: &EpochMetrics) {
        self.observer
            .lock()
            .expect("observer lock")
            .epoch_finished(self.index, metrics);
    }
}

impl RunObserver for Relay<'_, '_> {
    fn run_started(&mut self, run: &RunStarted<'_>) {
        self.observer
            .lock()
            .expect("observer lock")
            .run_started(self.index, run.epochs_done);
    }
}
