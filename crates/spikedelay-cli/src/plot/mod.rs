//! Figures of finished runs, as PNG files: learning curves, learned delays, one test sample.
//!
//! A run is a folder written by `train` (one seed) or by `train --seeds` (a `seed<k>/` folder per
//! seed); with several seeds the curves show mean and spread and the delay histogram the mean
//! count per seed.

mod canvas;
mod curves;
mod delays;
mod sample;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use spikedelay::config::RunConfig;
use spikedelay::model::Network;
use spikedelay::train::files;
use spikedelay::train::metrics::read_metrics;
use spikedelay::train::report::FIGURES;
use spikedelay::train::{Checkpoint, EpochMetrics};

pub use canvas::Canvas;

/// The folder plots go to by default: `RUN/plots`.
pub fn default_dir(run: &Path) -> PathBuf {
    run.join("plots")
}

/// What the figures are drawn from: each seed's history and selected network.
struct RunData {
    config: RunConfig,
    histories: Vec<Vec<EpochMetrics>>,
    networks: Vec<Network>,
}

/// The seed folders of `dir` (`seed<k>`, by `k`), or `dir` itself when it is a single run.
fn seed_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.join(files::METRICS).is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading the run folder {}", dir.display()))?;
    let mut seeds: Vec<(u64, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let k = name.strip_prefix("seed")?.parse().ok()?;
            e.path()
                .join(files::METRICS)
                .is_file()
                .then(|| (k, e.path()))
        })
        .collect();
    seeds.sort();
    if seeds.is_empty() {
        bail!(
            "{} is not a run: it holds neither {} nor seed<k>/ folders with one",
            dir.display(),
            files::METRICS
        );
    }
    Ok(seeds.into_iter().map(|(_, p)| p).collect())
}

impl RunData {
    fn read(dir: &Path) -> Result<Self> {
        let mut data = RunData {
            config: RunConfig::default(),
            histories: Vec::new(),
            networks: Vec::new(),
        };
        for (i, seed) in seed_dirs(dir)?.iter().enumerate() {
            data.histories
                .push(read_metrics(&seed.join(files::METRICS))?);
            let path = [files::BEST, files::LAST]
                .map(|f| seed.join(f))
                .into_iter()
                .find(|p| p.is_file())
                .with_context(|| format!("{} holds no checkpoint", seed.display()))?;
            let ck = Checkpoint::load(&path)?;
            if i == 0 {
                data.config = ck.config;
            }
            data.networks.push(ck.network);
        }
        Ok(data)
    }

    fn title(&self) -> String {
        let seeds = self.histories.len();
        format!(
            "{}, {} delays{}",
            self.config.data.name(),
            self.config.model.delays,
            if seeds > 1 {
                format!(", {seeds} seeds")
            } else {
                format!(", seed {}", self.config.train.seed)
            }
        )
    }
}

/// Writes the figures of the run in `run` into `out` and returns the files written. The
/// sample figure needs the run's test data; where it cannot be loaded, the figure is skipped
/// with a note on stderr (the other figures do not depend on it).
pub fn write_run_plots(run: &Path, out: &Path, sample_index: usize) -> Result<Vec<PathBuf>> {
    let data = RunData::read(run)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let title = data.title();
    let step_ms = data.config.model.time_step_ms;
    let mut written = Vec::new();
    let mut save = |name: &str, canvas: Canvas| -> Result<()> {
        let path = out.join(name);
        canvas.save(&path)?;
        written.push(path);
        Ok(())
    };
    save(
        FIGURES[0],
        curves::learning_curves(&data.histories, &title)?,
    )?;
    match delays::no_delays(&data.networks[0]) {
        Some(why) => eprintln!("delay figures skipped: {why}"),
        None => {
            save(
                FIGURES[1],
                delays::delay_histogram(
                    &data.networks,
                    step_ms,
                    &format!("learned delays — {title}"),
                )?,
            )?;
            save(
                FIGURES[2],
                delays::weight_vs_delay(
                    &data.networks[0],
                    step_ms,
                    &format!("weight against delay — {title}"),
                )?,
            )?;
        }
    }
    match crate::cmd::train::load(&data.config) {
        Ok(splits) => {
            let trace =
                sample::SampleTrace::run(&data.networks[0], splits.test.as_ref(), sample_index)?;
            save(FIGURES[3], sample::sample_figure(&trace, step_ms, &title)?)?;
        }
        Err(e) => eprintln!(
            "{} skipped: the run's data could not be loaded: {e:#}",
            FIGURES[3]
        ),
    }
    Ok(written)
}
