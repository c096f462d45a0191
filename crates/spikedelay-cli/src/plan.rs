//! From what the user typed to what runs: preset, TOML file and flags merged (in that order of
//! precedence, lowest first) into one validated [`RunConfig`], the output directory resolved,
//! and whether to resume.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use spikedelay::config::RunConfig;
use spikedelay::data::DataConfig;

use crate::args::TrainArgs;

/// A resolved training run.
pub struct TrainPlan {
    /// The configuration (for a resumed run, the one in its checkpoint).
    pub config: RunConfig,
    /// Output directory.
    pub out: PathBuf,
    /// Whether to continue the run in `out` (with `seeds`: the unfinished seed's).
    pub resume: bool,
    /// `--seeds`: one run per seed in `out/seed<k>/`.
    pub seeds: Option<Vec<u64>>,
    /// `--data-dir` for a resumed run (absolute): its data has moved.
    pub resume_data_dir: Option<PathBuf>,
}

/// `path` made absolute against the working folder.
pub fn absolute(path: &std::path::Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))
}

impl TrainPlan {
    /// Merges `--preset`, `--config` and the flags, validates, and picks the output directory.
    pub fn from_args(args: &TrainArgs) -> Result<Self> {
        let base = args.preset.map(|p| p.config()).unwrap_or_default();
        let mut config = match &args.config {
            Some(path) => RunConfig::from_toml_file_over(&base, path)?,
            None => base,
        };
        if let Some(d) = args.delays {
            config.model.delays = d;
        }
        if let Some(p) = args.conv_path {
            config.model.conv_path = p;
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
        if let Some(s) = args.eval_steps {
            config.train.eval_steps = s;
        }
        let resuming_one = args.resume && args.seeds.is_none();
        if let Some(dir) = args.data_dir.as_ref().filter(|_| !resuming_one)
            && let Err(e) = config.data.source_mut().set_dir(dir.clone())
        {
            bail!(
                "--data-dir: {e}; choose a dataset that is read from files with --preset \
                 shd|ssc|gsc or `dataset = \"spike-file\"` / `\"audio-folder\"` in the \
                 [data] table of --config"
            );
        }
        if let Some(s) = args.select_on {
            config.data.set_select_on(s);
        }
        if let Some(b) = args.binning {
            match &mut config.data {
                DataConfig::SpikeFile(c) => c.binning = b,
                other => bail!(
                    "--binning applies to spike files (`dataset = \"spike-file\"`, the shd and \
                     ssc presets); this run's dataset is `{}`",
                    other.kind()
                ),
            }
        }
        config
            .data
            .source_mut()
            .resolve_paths(&std::env::current_dir().context("reading the working folder")?);
        if let Err(e) = config.validate() {
            let source = match &args.config {
                Some(p) => format!("checking {}", p.display()),
                None => "checking the configuration".to_string(),
            };
            let hint = match &e {
                spikedelay::Error::Config { key, .. } if key == "data.dir" => {
                    " (pass --data-dir DIR)"
                }
                _ => "",
            };
            bail!("{source}: {e}{hint}");
        }
        if args.seeds.as_ref().is_some_and(|s| s.is_empty()) {
            bail!("--seeds needs at least one seed");
        }
        let seed_part = match &args.seeds {
            Some(_) => "seeds".to_string(),
            None => format!("seed{}", config.train.seed),
        };
        let out = args.out.clone().unwrap_or_else(|| {
            PathBuf::from("runs").join(format!(
                "{}-{}-{seed_part}",
                config.data.name(),
                config.model.delays,
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
            ("--eval-steps", args.eval_steps.is_some()),
            ("--select-on", args.select_on.is_some()),
            ("--binning", args.binning.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, set)| set.then_some(flag))
        .collect();
        if args.resume && args.seeds.is_none() && !given.is_empty() {
            bail!(
                "--resume continues the run in {} with the configuration stored in its checkpoint; \
                 drop {} (or start a new run without --resume; --data-dir may be given, to read \
                 the run's data from where it has moved)",
                out.display(),
                given.join(", ")
            );
        }
        Ok(TrainPlan {
            config,
            out,
            resume: args.resume,
            seeds: args.seeds.clone(),
            resume_data_dir: match (&args.data_dir, resuming_one) {
                (Some(d), true) => Some(absolute(d)?),
                _ => None,
            },
        })
    }
}
