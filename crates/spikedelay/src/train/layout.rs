//! `RunLayout`: what a run folder holds and where, every file name in one place. The trainer,
//! the run manager, the plots and the report read and write through it; a checkpoint argument may
//! name a run folder, which stands for its best checkpoint.
//!
//! ```text
//! OUT/config.toml  last.safetensors  best.safetensors  metrics.jsonl  summary.json  plots/
//! OUT/aggregate.json  OUT/seed<k>/…              (several seeds of one configuration)
//! ```

use std::path::{Path, PathBuf};

use crate::config::RunConfig;
use crate::error::{Error, Result};

/// File names inside a run's output folder.
pub mod files {
    /// Checkpoint after the latest epoch, with optimiser state (for resuming).
    pub const LAST: &str = "last.safetensors";
    /// Checkpoint of the epoch selected on validation.
    pub const BEST: &str = "best.safetensors";
    /// One JSON object per epoch.
    pub const METRICS: &str = "metrics.jsonl";
    /// Final summary.
    pub const SUMMARY: &str = "summary.json";
    /// The resolved configuration.
    pub const CONFIG: &str = "config.toml";
    /// Mean and spread over the seeds of a multi-seed run (in the folder above the seeds').
    pub const AGGREGATE: &str = "aggregate.json";
    /// Figures.
    pub const PLOTS: &str = "plots";
}

/// The paths of one run folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLayout {
    root: PathBuf,
}

impl RunLayout {
    /// The run folder `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        RunLayout { root: root.into() }
    }

    /// Where a run of `config` goes by default: `runs/<dataset>-<delays>-seed<k>`, or
    /// `runs/<dataset>-<delays>-seeds` for several seeds.
    pub fn default_for(config: &RunConfig, several_seeds: bool) -> Self {
        let seed = if several_seeds {
            "seeds".to_string()
        } else {
            format!("seed{}", config.train.seed)
        };
        RunLayout::new(Path::new("runs").join(format!(
            "{}-{}-{seed}",
            config.data.name(),
            config.model.delays
        )))
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The run of `seed` inside a several-seeds folder.
    pub fn seed(&self, seed: u64) -> RunLayout {
        RunLayout::new(self.root.join(format!("seed{seed}")))
    }

    /// `config.toml`.
    pub fn config(&self) -> PathBuf {
        self.root.join(files::CONFIG)
    }

    /// `last.safetensors`.
    pub fn last(&self) -> PathBuf {
        self.root.join(files::LAST)
    }

    /// `best.safetensors`.
    pub fn best(&self) -> PathBuf {
        self.root.join(files::BEST)
    }

    /// `metrics.jsonl`.
    pub fn metrics(&self) -> PathBuf {
        self.root.join(files::METRICS)
    }

    /// `summary.json`.
    pub fn summary(&self) -> PathBuf {
        self.root.join(files::SUMMARY)
    }

    /// `aggregate.json` (several seeds).
    pub fn aggregate(&self) -> PathBuf {
        self.root.join(files::AGGREGATE)
    }

    /// `plots/`.
    pub fn plots(&self) -> PathBuf {
        self.root.join(files::PLOTS)
    }

    /// The checkpoint a path stands for: a file is itself; a run folder its `best.safetensors`
    /// (`last.safetensors` where no epoch was selected yet).
    pub fn checkpoint(path: &Path) -> Result<PathBuf> {
        if !path.is_dir() {
            return Ok(path.to_path_buf());
        }
        let run = RunLayout::new(path);
        for p in [run.best(), run.last()] {
            if p.is_file() {
                return Ok(p);
            }
        }
        Err(Error::NotFound {
            path: path.to_path_buf(),
            what: format!(
                "a checkpoint: the folder holds neither {} nor {}",
                files::BEST,
                files::LAST
            ),
        })
    }
}
