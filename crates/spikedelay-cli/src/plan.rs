//! From what the user typed to what runs: the TOML file and flags merged into one validated
//! [`RunConfig`], the output directory resolved, and whether to resume.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use spikedelay::config::RunConfig;
use spikedelay::model::DelayMode;

use crate::args::{DelaysArg, TrainArgs};

/// A resolved training run.
pub struct TrainPlan {
    /// The configuration (for a resumed run, the one in its checkpoint).
    pub config: RunConfig,
    /// Output directory.
    pub out: PathBuf,
    /// Whether to continue the run in `out`.
    pub resume: bool,
}

impl From<DelaysArg> for DelayMode {
    fn from(d: DelaysArg) -> Self {
        match d {
            DelaysArg::Learned => DelayMode::Learned,
            DelaysArg::Fixed => DelayMode::Fixed,
            DelaysArg::None => DelayMode::None,
            DelaysArg::ConstantSigma => DelayMode::ConstantSigma,
        }
    }
}

impl TrainPlan {
    /// Merges `--config` and the flags, validates, and picks the output directory.
    pub fn from_args(args: &TrainArgs) -> Result<Self> {
        let mut config = match &args.config {
            Some(path) => RunConfig::from_toml_file(path)?,
            None => RunConfig::default(),
        };
        if let Some(d) = args.delays {
            config.model.delays = d.into();
        }
        if let Some(e) = args.epochs {
            if e == 0 {
                bail!("--epochs must be at least 1");
            }
            config.train.epochs = e;
        }
        if let Some(s) = args.seed {
            config.train.seed = s;
        }
        config.validate().context(match &args.config {
            Some(p) => format!("checking {}", p.display()),
            None => "checking the configuration".to_string(),
        })?;
        let out = args.out.clone().unwrap_or_else(|| {
            PathBuf::from("runs").join(format!(
                "{}-{}-seed{}",
                config.data.dataset.name(),
                config.model.delays,
                config.train.seed
            ))
        });
        if args.resume
            && (args.config.is_some()
                || args.delays.is_some()
                || args.epochs.is_some()
                || args.seed.is_some())
        {
            bail!(
                "--resume continues the run in {} with the configuration stored in its checkpoint; \
                 drop --config, --delays, --epochs and --seed (or start a new run without --resume)",
                out.display()
            );
        }
        Ok(TrainPlan {
            config,
            out,
            resume: args.resume,
        })
    }
}
