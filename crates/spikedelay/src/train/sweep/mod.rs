//! Sweeps: a base configuration × a grid of key values × seeds, one run folder each, run here
//! ([`local`]), as a Slurm job array ([`slurm`]), and summarised as a paper's ablation table
//! ([`table`]).
//!
//! ```text
//! OUT/sweep.json                          the manifest: base, grid, seeds, every run's folder
//! OUT/<point>/seed<k>/config.toml …       one run (a RunLayout), <point> = `key=value,key=value`
//! OUT/<point>/aggregate.json              mean ± sample std over the point's seeds, once all finished
//! ```
//!
//! Every run is started, resumed or skipped by [`Sweep::run_one`] alone (finished: skipped;
//! epochs committed: resumed; else started afresh), so a rerun after a kill, a requeued Slurm
//! task and a second `--jobs` runner all do the right thing; the run folders' locks keep two
//! processes off one run.

pub mod local;
pub mod slurm;
pub mod table;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::aggregate::{Aggregate, read_summary};
use super::layout::RunLayout;
use super::metrics::Summary;
use super::run_dir::Existing;
use super::runs::{RunObserver, RunOutcome, RunPlan};
use crate::atomic_file::write_atomic;
use crate::config::RunConfig;
use crate::error::{Error, Result};

/// The manifest's file name in a sweep folder.
pub const MANIFEST: &str = "sweep.json";

/// One axis of the grid: a dotted configuration key and the values it takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridAxis {
    /// `model.delays`, `train.max_lr`, …
    pub key: String,
    /// Values as TOML text (`fixed`, `0.01`), in the order given.
    pub values: Vec<String>,
}

impl std::str::FromStr for GridAxis {
    type Err = Error;

    /// `KEY=V1,V2,...`.
    fn from_str(s: &str) -> Result<Self> {
        let (key, values) = s.split_once('=').ok_or_else(|| {
            Error::config(
                "--grid",
                format!(
                    "expects KEY=V1,V2,... (for example model.delays=learned,fixed), got `{s}`"
                ),
            )
        })?;
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
        if key.trim().is_empty() || values.iter().any(String::is_empty) {
            return Err(Error::config(
                "--grid",
                format!("expects a key and non-empty values (KEY=V1,V2,...), got `{s}`"),
            ));
        }
        Ok(GridAxis {
            key: key.trim().to_string(),
            values,
        })
    }
}

/// One run of a sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepRun {
    /// The grid point's values, one per axis.
    pub point: Vec<String>,
    /// The seed.
    pub seed: u64,
    /// Its folder, relative to the sweep's.
    pub dir: PathBuf,
}

/// What a sweep folder holds: `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The base configuration as TOML.
    pub base: String,
    /// The grid's axes.
    pub grid: Vec<GridAxis>,
    /// The seeds of every point.
    pub seeds: Vec<u64>,
    /// Every run, point by point, seed by seed (the Slurm array index is the position here).
    pub runs: Vec<SweepRun>,
}

/// Where a run of a sweep stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Not started (or no epoch committed yet).
    Fresh,
    /// Some epochs committed (`last.safetensors`), not finished.
    Started,
    /// `summary.json` written.
    Finished,
}

/// A sweep folder.
#[derive(Debug, Clone)]
pub struct Sweep {
    root: PathBuf,
    manifest: Manifest,
}

/// A grid point's folder name: `key=value` per axis, joined by `,` (characters a file name
/// cannot hold replaced by `_`); `base` for an empty grid.
fn point_name(grid: &[GridAxis], point: &[String]) -> String {
    if grid.is_empty() {
        return "base".into();
    }
    grid.iter()
        .zip(point)
        .map(|(a, v)| format!("{}={v}", a.key))
        .collect::<Vec<_>>()
        .join(",")
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_whitespace() || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

impl Sweep {
    /// Expands `base` × `grid` × `seeds` into `root` (created): every run's resolved
    /// `config.toml` and the manifest. A folder holding the same sweep is reopened as it is
    /// (finished runs stay); one holding another sweep, or a run of another configuration, is
    /// refused.
    pub fn create(
        root: impl Into<PathBuf>,
        base: &RunConfig,
        grid: Vec<GridAxis>,
        seeds: Vec<u64>,
    ) -> Result<Sweep> {
        let root = root.into();
        if seeds.is_empty() {
            return Err(Error::config("--seeds", "needs at least one seed"));
        }
        for (i, a) in grid.iter().enumerate() {
            if grid[..i].iter().any(|b| b.key == a.key) {
                return Err(Error::config(
                    "--grid",
                    format!("names `{}` twice; give all its values in one --grid", a.key),
                ));
            }
        }
        // Every point × seed, the last axis varying fastest.
        let mut points: Vec<Vec<String>> = vec![Vec::new()];
        for axis in &grid {
            points = points
                .into_iter()
                .flat_map(|p| {
                    axis.values.iter().map(move |v| {
                        let mut q = p.clone();
                        q.push(v.clone());
                        q
                    })
                })
                .collect();
        }
        let mut runs = Vec::new();
        let mut configs = Vec::new();
        for point in &points {
            let mut config = base.clone();
            for (axis, value) in grid.iter().zip(point) {
                config = config.with_key(&axis.key, value)?;
            }
            let name = point_name(&grid, point);
            for &seed in &seeds {
                let mut c = config.clone();
                c.train.seed = seed;
                let dir = Path::new(&name).join(format!("seed{seed}"));
                runs.push(SweepRun {
                    point: point.clone(),
                    seed,
                    dir,
                });
                configs.push(c);
            }
        }
        let manifest = Manifest {
            base: base.to_toml(),
            grid,
            seeds,
            runs,
        };
        let manifest_path = root.join(MANIFEST);
        if manifest_path.is_file() {
            let old = Self::open(&root)?;
            if old.manifest != manifest {
                return Err(Error::run_folder(
                    &root,
                    "holds another sweep (its sweep.json names another base, grid or seeds); \
                     choose another --out",
                ));
            }
        }
        for (run, config) in manifest.runs.iter().zip(&configs) {
            let layout = RunLayout::new(root.join(&run.dir));
            if layout.config().is_file() {
                if &RunConfig::from_toml_file(&layout.config())? != config {
                    return Err(Error::OtherConfiguration {
                        path: layout.root().to_path_buf(),
                    });
                }
                continue;
            }
            std::fs::create_dir_all(layout.root()).map_err(|source| Error::Io {
                action: "creating run folder",
                path: layout.root().to_path_buf(),
                source,
            })?;
            write_atomic(&layout.config(), config.to_toml().as_bytes())?;
        }
        let text = serde_json::to_string_pretty(&manifest).expect("manifest serialises");
        write_atomic(&manifest_path, text.as_bytes())?;
        Ok(Sweep { root, manifest })
    }

    /// Opens the sweep in `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Sweep> {
        let root = root.into();
        let path = root.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            action: "reading the sweep manifest",
            path: path.clone(),
            source,
        })?;
        let manifest = serde_json::from_str(&text)
            .map_err(|e| Error::data(&path, format!("not a spikedelay sweep.json ({e})")))?;
        Ok(Sweep { root, manifest })
    }

    /// Whether `dir` holds a sweep.
    pub fn is_sweep(dir: &Path) -> bool {
        dir.join(MANIFEST).is_file()
    }

    /// The sweep's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The runs, in array order.
    pub fn runs(&self) -> &[SweepRun] {
        &self.manifest.runs
    }

    /// Run `index`'s folder.
    pub fn layout(&self, index: usize) -> RunLayout {
        RunLayout::new(self.root.join(&self.manifest.runs[index].dir))
    }

    /// Where run `index` stands.
    pub fn state(&self, index: usize) -> RunState {
        let layout = self.layout(index);
        if layout.summary().is_file() {
            RunState::Finished
        } else if layout.last().is_file() {
            RunState::Started
        } else {
            RunState::Fresh
        }
    }

    /// Runs `index` to its end: skipped when finished, resumed when epochs are committed,
    /// else started afresh from its `config.toml`. Returns its summary; writes its point's
    /// `aggregate.json` when this was the point's last unfinished seed.
    pub fn run_one(&self, index: usize, observer: &mut dyn RunObserver) -> Result<Summary> {
        let run = self.manifest.runs.get(index).ok_or_else(|| {
            Error::config(
                "task index",
                format!(
                    "is {index} but the sweep in {} has {} runs (0..{})",
                    self.root.display(),
                    self.manifest.runs.len(),
                    self.manifest.runs.len().saturating_sub(1)
                ),
            )
        })?;
        let layout = self.layout(index);
        let summary = match self.state(index) {
            RunState::Finished => read_summary(&layout.summary())?,
            state => {
                let config = RunConfig::from_toml_file(&layout.config())?;
                let plan = RunPlan {
                    config,
                    layout: Some(layout),
                    seeds: None,
                    existing: if state == RunState::Started {
                        Existing::Resume
                    } else {
                        // Only config.toml (and perhaps records of an uncommitted first
                        // epoch) is there.
                        Existing::Overwrite
                    },
                    data_dir: None,
                    collective: None,
                    device: crate::device::Device::Auto,
                };
                match plan.run(observer)? {
                    RunOutcome::One(s) => *s,
                    RunOutcome::Seeds { .. } => unreachable!("a plan without seeds runs once"),
                }
            }
        };
        self.write_aggregate(&run.point)?;
        Ok(summary)
    }

    /// The summaries of a point's finished seeds, in seed order.
    pub fn point_summaries(&self, point: &[String]) -> Result<Vec<Summary>> {
        let mut out = Vec::new();
        for (i, run) in self.manifest.runs.iter().enumerate() {
            if run.point == point && self.state(i) == RunState::Finished {
                out.push(read_summary(&self.layout(i).summary())?);
            }
        }
        Ok(out)
    }

    /// A point's folder (above its seeds').
    pub fn point_dir(&self, point: &[String]) -> PathBuf {
        self.root.join(point_name(&self.manifest.grid, point))
    }

    /// The grid points, in order.
    pub fn points(&self) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = Vec::new();
        for run in &self.manifest.runs {
            if !out.contains(&run.point) {
                out.push(run.point.clone());
            }
        }
        out
    }

    fn write_aggregate(&self, point: &[String]) -> Result<()> {
        let summaries = self.point_summaries(point)?;
        if summaries.len() == self.manifest.seeds.len() {
            let dir = RunLayout::new(self.point_dir(point));
            Aggregate::of(&summaries)?.write(&dir.aggregate())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_axes_parse_and_expand_point_by_point() {
        let dir = tempfile::tempdir().unwrap();
        let grid = vec![
            "model.delays=learned,none".parse::<GridAxis>().unwrap(),
            "train.epochs=1,2".parse().unwrap(),
        ];
        let s = Sweep::create(dir.path(), &RunConfig::default(), grid, vec![3, 4]).unwrap();
        assert_eq!(s.runs().len(), 8);
        assert_eq!(
            s.runs()[2].dir,
            Path::new("model.delays=learned,train.epochs=2/seed3")
        );
        let c = RunConfig::from_toml_file(&s.layout(7).config()).unwrap();
        assert_eq!(c.model.delays.to_string(), "none");
        assert_eq!((c.train.epochs, c.train.seed), (2, 4));
        assert_eq!(s.state(0), RunState::Fresh);
        // The same sweep reopens; another one is refused.
        let grid = s.manifest().grid.clone();
        Sweep::create(dir.path(), &RunConfig::default(), grid.clone(), vec![3, 4]).unwrap();
        let e = Sweep::create(dir.path(), &RunConfig::default(), grid, vec![3]).unwrap_err();
        assert!(e.to_string().contains("another sweep"), "{e}");
    }

    #[test]
    fn bad_grids_name_the_option() {
        for bad in ["model.delays", "=1", "train.epochs=1,,2"] {
            let e = bad.parse::<GridAxis>().unwrap_err().to_string();
            assert!(e.contains("--grid"), "{bad}: {e}");
        }
        let dir = tempfile::tempdir().unwrap();
        let twice = vec![
            "train.epochs=1".parse().unwrap(),
            "train.epochs=2".parse().unwrap(),
        ];
        let e = Sweep::create(dir.path(), &RunConfig::default(), twice, vec![0]).unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
        let e = Sweep::create(
            dir.path(),
            &RunConfig::default(),
            vec!["train.epochs=x".parse().unwrap()],
            vec![0],
        )
        .unwrap_err();
        assert!(e.to_string().contains("train.epochs"), "{e}");
    }
}
