//! From what the user typed to what runs: preset, TOML file and flags merged (in that order of
//! precedence, lowest first) into one validated [`RunConfig`], the output folder resolved, and
//! whether to resume: the library's [`RunPlan`].

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use spikedelay::config::RunConfig;
use spikedelay::data::DataConfig;
use spikedelay::train::{Existing, RunLayout, RunPlan};

use crate::args::TrainArgs;

/// `path` made absolute against the working folder.
pub fn absolute(path: &std::path::Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))
}

/// Merges `--preset`, `--config` and the flags, validates, and picks the output folder.
pub fn train_plan(args: &TrainArgs) -> Result<RunPlan> {
    {
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
        if let Some(s) = args.shards {
            config.train.shards = s;
        }
        if let Some(s) = args.eval_steps {
            config.train.eval_steps = s;
        }
        let resuming_one = args.resume && args.seeds.is_none();
        if let Some(dir) = args.data_dir.as_ref().filter(|_| !resuming_one) {
            config
                .data
                .source_mut()
                .set_dir(dir.clone())
                .context("--data-dir")?;
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
        config.validate().with_context(|| match &args.config {
            Some(p) => format!("checking {}", p.display()),
            None => "checking the configuration".to_string(),
        })?;
        if args.seeds.as_ref().is_some_and(|s| s.is_empty()) {
            bail!("--seeds needs at least one seed");
        }
        let layout = match &args.out {
            Some(out) => RunLayout::new(out),
            None => RunLayout::default_for(&config, args.seeds.is_some()),
        };
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
                layout.root().display(),
                given.join(", ")
            );
        }
        Ok(RunPlan {
            config,
            layout: Some(layout),
            seeds: args.seeds.clone(),
            existing: if args.resume {
                Existing::Resume
            } else if args.overwrite {
                Existing::Overwrite
            } else {
                Existing::Refuse
            },
            data_dir: match (&args.data_dir, resuming_one) {
                (Some(d), true) => Some(absolute(d)?),
                _ => None,
            },
            collective: None,
            device: args.device,
        })
    }
}
