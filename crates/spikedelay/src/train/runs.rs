//! The run manager: what `spikedelay train` and Python's `train` do around the trainer. One run,
//! or one run per seed of one configuration (`OUT/seed<k>/` and `OUT/aggregate.json`, finished
//! seeds skipped on a rerun), into a [`RunLayout`] folder that is refused, replaced or continued
//! as [`Existing`] says; the data loaded for each run; progress to one [`RunObserver`].

use std::path::PathBuf;
use std::sync::Arc;

use super::aggregate::{Aggregate, read_summary};
use super::layout::RunLayout;
use super::metrics::Summary;
use super::parallel::Collective;
use super::run_dir::{Existing, holds_run};
use super::trainer::{TrainObserver, Trainer};
use crate::config::RunConfig;
use crate::data::{LoadProgress, Splits};
use crate::device::Device;
use crate::error::{Error, Result};
use crate::model::Network;

/// A run about to train its first (or next) epoch.
pub struct RunStarted<'a> {
    /// Its folder (`None`: a run that writes nothing).
    pub layout: Option<&'a RunLayout>,
    /// The seed, for one of several seeds.
    pub seed: Option<u64>,
    /// The configuration (for a resumed run, the one stored in it).
    pub config: &'a RunConfig,
    /// Its data.
    pub splits: &'a Splits,
    /// The network as it starts.
    pub network: &'a Network,
    /// Epochs finished before this session (a resumed run), else 0.
    pub epochs_done: usize,
}

/// Receives everything a run reports: data preparation ([`LoadProgress`]), training
/// ([`TrainObserver`]) and the run's own steps.
pub trait RunObserver: TrainObserver + LoadProgress {
    /// A run's data is loaded and its trainer ready.
    fn run_started(&mut self, _run: &RunStarted<'_>) {}
    /// A seed's run had finished earlier and is not trained again.
    fn seed_skipped(&mut self, _seed: u64, _summary: &Summary) {}
    /// A run finished.
    fn run_finished(&mut self, _summary: &Summary) {}
}

/// Reports nothing.
impl RunObserver for () {}

/// What a run manager did.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    /// One run.
    One(Box<Summary>),
    /// One run per seed, in the order given, and their aggregate (written as `aggregate.json`).
    Seeds {
        /// Each seed's summary.
        summaries: Vec<Summary>,
        /// Mean and spread over the seeds.
        aggregate: Aggregate,
    },
}

/// Where data comes from: the configuration's own dataset, or splits given by the caller
/// (Python arrays), which every seed then shares.
pub enum DataSource<'a> {
    /// Load what the (stored) configuration names.
    Config,
    /// These splits.
    Given(&'a Splits),
}

/// A training request: a configuration, a folder, seeds, and what to do with a run already
/// there.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// The configuration (a resumed single run uses the one stored in its folder instead).
    pub config: RunConfig,
    /// The run folder (for several seeds, the folder above theirs); `None` trains without
    /// writing anything (nothing to refuse, replace or resume).
    pub layout: Option<RunLayout>,
    /// Several seeds: one run each in `seed<k>/`, replacing `config.train.seed`.
    pub seeds: Option<Vec<u64>>,
    /// Refuse, replace or continue a run already in the folder (with seeds: each seed's).
    pub existing: Existing,
    /// For a resumed single run: read its data from here from now on (the data has moved).
    pub data_dir: Option<PathBuf>,
    /// The processes sharing every batch (data parallelism; `None`: this one alone). Only
    /// the first process (rank 0) writes the run folder; the others read it to resume.
    pub collective: Option<Arc<dyn Collective>>,
    /// Where the training batches run (docs/design.md §9); `auto` takes a CUDA GPU when
    /// there is one. Not part of the configuration: a run resumes on any device.
    pub device: Device,
}

impl RunPlan {
    /// A fresh single run of `config` into `out`, refusing a run already there.
    pub fn new(config: RunConfig, out: impl Into<PathBuf>) -> Self {
        RunPlan {
            config,
            layout: Some(RunLayout::new(out)),
            seeds: None,
            existing: Existing::Refuse,
            data_dir: None,
            collective: None,
            device: Device::Auto,
        }
    }

    /// Trains every run the plan names.
    pub fn run(&self, observer: &mut dyn RunObserver) -> Result<RunOutcome> {
        self.run_on(DataSource::Config, observer)
    }

    /// Trains every run the plan names on `data`.
    pub fn run_on(
        &self,
        data: DataSource<'_>,
        observer: &mut dyn RunObserver,
    ) -> Result<RunOutcome> {
        let Some(seeds) = &self.seeds else {
            return Ok(RunOutcome::One(Box::new(self.run_one(
                &self.config,
                self.layout.as_ref(),
                None,
                self.existing,
                &data,
                observer,
            )?)));
        };
        if seeds.is_empty() {
            return Err(Error::config("seeds", "needs at least one seed"));
        }
        let mut summaries = Vec::new();
        for &seed in seeds {
            let layout = self.layout.as_ref().map(|l| l.seed(seed));
            let mut config = self.config.clone();
            config.train.seed = seed;
            let replace = self.existing == Existing::Overwrite;
            let mut existing = self.existing;
            if let Some(layout) = &layout {
                if !replace
                    && layout.config().is_file()
                    && RunConfig::from_toml_file(&layout.config())? != config
                {
                    return Err(Error::OtherConfiguration {
                        path: layout.root().to_path_buf(),
                    });
                }
                if !replace && layout.summary().is_file() {
                    let s = read_summary(&layout.summary())?;
                    observer.seed_skipped(seed, &s);
                    summaries.push(s);
                    continue;
                }
                if existing == Existing::Resume && !layout.last().is_file() {
                    existing = Existing::Refuse;
                }
            }
            summaries.push(self.run_one(
                &config,
                layout.as_ref(),
                Some(seed),
                existing,
                &data,
                observer,
            )?);
        }
        let aggregate = Aggregate::of(&summaries)?;
        if let Some(layout) = self.layout.as_ref().filter(|_| self.writes()) {
            aggregate.write(&layout.aggregate())?;
        }
        Ok(RunOutcome::Seeds {
            summaries,
            aggregate,
        })
    }

    /// Whether this process writes the run folder (the only one, or rank 0 of several).
    fn writes(&self) -> bool {
        self.collective.as_ref().is_none_or(|c| c.rank() == 0)
    }

    fn run_one(
        &self,
        config: &RunConfig,
        layout: Option<&RunLayout>,
        seed: Option<u64>,
        existing: Existing,
        data: &DataSource<'_>,
        observer: &mut dyn RunObserver,
    ) -> Result<Summary> {
        let load = |config: &RunConfig, observer: &mut dyn RunObserver| -> Result<Option<Splits>> {
            match data {
                DataSource::Config => {
                    Ok(Some(config.data.load(config.model.time_step_ms, observer)?))
                }
                DataSource::Given(_) => Ok(None),
            }
        };
        let writes = self.writes();
        let (trainer, loaded) = if let (Existing::Resume, Some(layout)) = (existing, layout) {
            let mut trainer = if writes {
                Trainer::resume(layout.root())?
            } else {
                Trainer::resume_reading(layout.root())?
            };
            if let Some(dir) = &self.data_dir {
                trainer.relocate_data(dir.clone())?;
            }
            let loaded = load(trainer.config(), observer)?;
            (trainer, loaded)
        } else {
            if let Some(layout) = layout
                && writes
                && existing == Existing::Refuse
                && let Some(what) = holds_run(layout.root())
            {
                return Err(Error::RunExists {
                    path: layout.root().to_path_buf(),
                    what,
                });
            }
            let loaded = load(config, observer)?;
            let splits = match (&loaded, data) {
                (Some(s), _) => s,
                (None, DataSource::Given(s)) => s,
                (None, DataSource::Config) => unreachable!("loaded above"),
            };
            let mut trainer = Trainer::new(
                config.clone(),
                splits.train.channels(),
                splits.train.classes(),
            )?;
            if let Some(layout) = layout.filter(|_| writes) {
                let existing = match existing {
                    Existing::Resume => Existing::Refuse,
                    other => other,
                };
                trainer = trainer.with_output(layout.root(), existing)?;
            }
            (trainer, loaded)
        };
        let trainer = match &self.collective {
            Some(c) => trainer.with_collective(c.clone())?,
            None => trainer,
        };
        let mut trainer = trainer.with_device(self.device)?;
        let splits = match (&loaded, data) {
            (Some(s), _) => s,
            (None, DataSource::Given(s)) => s,
            (None, DataSource::Config) => unreachable!("loaded above"),
        };
        observer.run_started(&RunStarted {
            layout,
            seed,
            config: trainer.config(),
            splits,
            network: trainer.network(),
            epochs_done: trainer.history().len(),
        });
        let summary = trainer.run(splits, observer)?;
        observer.run_finished(&summary);
        Ok(summary)
    }
}
