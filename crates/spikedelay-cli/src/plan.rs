//! From what the user typed to what runs: preset, TOML file and flags merged (in that order of
//! precedence, lowest first) into one validated [`RunConfig`], the output directory resolved,
//! and whether to resume.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use spikedelay::config::{Preset, RunConfig, SelectOn};
use spikedelay::data::binning::BinningMode;
use spikedelay::model::DelayMode;

use crate::args::{BinningArg, DelaysArg, SelectOnArg, TrainArgs};

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
    /// Merges `--preset`, `--config` and the flags, validates, and picks the output directory.
    pub fn from_args(args: &TrainArgs) -> Result<Self> {
        let base = match &args.preset {
            Some(name) => Preset::from_name(name)?.config(),
            None => RunConfig::default(),
        };
        let mut config = match &args.config {
            Some(path) => RunConfig::from_toml_file_over(&base, path)?,
            None => base,
        };
        if let Some(d) = args.delays {
            config.model.delays = d.into();
        }
        if let Some(p) = args.conv_path {
            config.model.conv_path = p.into();
        }
        if let Some(e) = args.epochs {
            if e == 0 {
                bail!("--epochs must be at least 1");
            }
            config.train.epochs = e;
        }
        if let Some(b) = args.batch_size {
            if b == 0 {
                bail!("--batch-size must be at least 1");
            }
            config.train.batch_size = b;
        }
        if let Some(s) = args.seed {
            config.train.seed = s;
        }
        if let Some(dir) = &args.data_dir {
            if config.data.dataset == spikedelay::config::DatasetKind::DelayPatterns {
                bail!(
                    "--data-dir needs a dataset: add --preset shd|ssc|gsc (or set [data] dataset \
                     in --config); the built-in delay-patterns task is generated, not read"
                );
            }
            config.data.dir = Some(dir.clone());
        }
        if let Some(s) = args.select_on {
            config.data.select_on = match s {
                SelectOnArg::Valid => SelectOn::Valid,
                SelectOnArg::Test => SelectOn::Test,
            };
        }
        if let Some(b) = args.binning {
            config.data.binning = match b {
                BinningArg::EventAnchored => BinningMode::EventAnchored,
                BinningArg::FixedGrid => BinningMode::FixedGrid,
            };
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
        let given: Vec<&str> = [
            ("--preset", args.preset.is_some()),
            ("--config", args.config.is_some()),
            ("--delays", args.delays.is_some()),
            ("--conv-path", args.conv_path.is_some()),
            ("--epochs", args.epochs.is_some()),
            ("--batch-size", args.batch_size.is_some()),
            ("--seed", args.seed.is_some()),
            ("--data-dir", args.data_dir.is_some()),
            ("--select-on", args.select_on.is_some()),
            ("--binning", args.binning.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, set)| set.then_some(flag))
        .collect();
        if args.resume && !given.is_empty() {
            bail!(
                "--resume continues the run in {} with the configuration stored in its checkpoint; \
                 drop {} (or start a new run without --resume)",
                out.display(),
                given.join(", ")
            );
        }
        Ok(TrainPlan {
            config,
            out,
            resume: args.resume,
        })
    }
}
