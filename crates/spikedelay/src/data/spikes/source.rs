//! `dataset = "spike-file"`: HDF5 spike files in the SHD layout, any number of input channels
//! and classes. SHD and SSC are presets ([`SpikeFileConfig::shd`], [`SpikeFileConfig::ssc`]).
//!
//! A training and a test file, and optionally a validation file; without one, a stratified
//! share of the training file is held out for selection (docs/datasets.md §1.3). Every file is
//! binned once and cached ([`super::frames`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::binning::{Binning, BinningMode};
use super::file::SHD_CHANNELS;
use super::frames::{SpikeFrames, load_spike_frames};
use crate::data::config::{DatasetSource, SelectOn, TEST_SELECTION, dir_required};
use crate::data::dataset::{Dataset, Splits};
use crate::data::progress::LoadProgress;
use crate::data::splits::{HeldOut, Shared, assemble, require_file};
use crate::error::{Error, Result};

/// Settings of a `spike-file` dataset (the `[data]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpikeFileConfig {
    /// The dataset's name in results. Default: the folder's name.
    pub name: Option<String>,
    /// Folder holding the files. Required.
    pub dir: Option<PathBuf>,
    /// Where binned caches go. Default: `<dir>/.spikedelay-cache`.
    pub cache_dir: Option<PathBuf>,
    /// Training file inside `dir`. Default: `train.h5`.
    pub train_file: String,
    /// Validation file inside `dir`; without one, `valid_fraction` of the training file is
    /// held out. Default: none.
    pub valid_file: Option<String>,
    /// Test file inside `dir`. Default: `test.h5`.
    pub test_file: String,
    /// Input channels of the files (unit ids must be below it). Default: as many as the
    /// training file's spikes use; the other files must fit in them.
    pub channels: Option<usize>,
    /// Adjacent channels summed into one input (`⌈channels / pool⌉` inputs). Default: 1.
    pub pool: usize,
    /// Binning into frames of the model's time step: `event-anchored` (the paper's) or
    /// `fixed-grid` (docs/method.md §17). Default: `event-anchored`.
    pub binning: BinningMode,
    /// Without a validation file: share of each class of the training file held out.
    /// Default: 0.1.
    pub valid_fraction: f64,
    /// Seed of the held-out split. Default: 0.
    pub valid_seed: u64,
    /// Which split selects the reported epoch. Default: `valid`.
    pub select_on: SelectOn,
}

impl Default for SpikeFileConfig {
    fn default() -> Self {
        SpikeFileConfig {
            name: None,
            dir: None,
            cache_dir: None,
            train_file: "train.h5".into(),
            valid_file: None,
            test_file: "test.h5".into(),
            channels: None,
            pool: 1,
            binning: BinningMode::EventAnchored,
            valid_fraction: 0.1,
            valid_seed: 0,
            select_on: SelectOn::Valid,
        }
    }
}

impl SpikeFileConfig {
    /// Spiking Heidelberg Digits: `shd_train.h5` and `shd_test.h5`, 700 channels pooled by 5;
    /// 10 % of the training file held out for selection (the reference selects on the test
    /// set: `select_on = "test"`).
    pub fn shd() -> Self {
        SpikeFileConfig {
            name: Some("shd".into()),
            train_file: "shd_train.h5".into(),
            test_file: "shd_test.h5".into(),
            channels: Some(SHD_CHANNELS),
            pool: 5,
            ..SpikeFileConfig::default()
        }
    }

    /// Spiking Speech Commands: `ssc_train.h5`, `ssc_valid.h5`, `ssc_test.h5`, 700 channels
    /// pooled by 5.
    pub fn ssc() -> Self {
        SpikeFileConfig {
            name: Some("ssc".into()),
            train_file: "ssc_train.h5".into(),
            valid_file: Some("ssc_valid.h5".into()),
            test_file: "ssc_test.h5".into(),
            channels: Some(SHD_CHANNELS),
            pool: 5,
            ..SpikeFileConfig::default()
        }
    }

    /// The cache folder.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        self.cache_dir
            .clone()
            .or_else(|| self.dir.as_ref().map(|d| d.join(".spikedelay-cache")))
    }

    /// The binning this source applies with steps of `time_step_ms`.
    pub fn binning(&self, time_step_ms: f64) -> Binning {
        Binning {
            mode: self.binning,
            duration_ms: time_step_ms,
            pool: self.pool,
            channels: self.channels,
        }
    }
}

/// Makes every file's channel count the training file's, refusing files whose spikes reach
/// beyond it.
fn match_channels(files: &mut [(&Path, SpikeFrames)], explicit: bool) -> Result<()> {
    let channels = files[0].1.channels();
    for (path, frames) in files.iter_mut().skip(1) {
        let used = frames.channels_used();
        if used > channels {
            return Err(Error::data(
                *path,
                format!(
                    "its spikes reach input {} but the training file's reach only {channels}{}",
                    used - 1,
                    if explicit {
                        ""
                    } else {
                        "; set `data.channels` to the data's channel count"
                    }
                ),
            ));
        }
        frames.set_channels(channels);
    }
    Ok(())
}

impl DatasetSource for SpikeFileConfig {
    fn validate(&self) -> Result<()> {
        if self.dir.is_none() {
            return Err(dir_required("spike-file"));
        }
        if self.pool == 0 {
            return Err(Error::config("data.pool", "must be at least 1, got 0"));
        }
        if self.channels == Some(0) {
            return Err(Error::config("data.channels", "must be at least 1, got 0"));
        }
        for (key, name) in [
            ("data.train_file", Some(&self.train_file)),
            ("data.valid_file", self.valid_file.as_ref()),
            ("data.test_file", Some(&self.test_file)),
        ] {
            if name.is_some_and(|n| n.trim().is_empty()) {
                return Err(Error::config(key, "must name a file inside data.dir"));
            }
        }
        if !(self.valid_fraction > 0.0 && self.valid_fraction < 1.0) {
            return Err(Error::config(
                "data.valid_fraction",
                format!("must be in (0, 1), got {}", self.valid_fraction),
            ));
        }
        Ok(())
    }

    fn load(&self, time_step_ms: f64, progress: &mut dyn LoadProgress) -> Result<Splits> {
        let dir = self
            .dir
            .as_deref()
            .ok_or_else(|| dir_required("spike-file"))?;
        let cache_dir = self.cache_dir().expect("data.dir is set");
        let binning = self.binning(time_step_ms);
        let names: Vec<&str> = [
            Some(&self.train_file),
            self.valid_file.as_ref(),
            Some(&self.test_file),
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
        let paths = names
            .iter()
            .map(|n| require_file(dir, n, "an HDF5 spike file in the SHD layout"))
            .collect::<Result<Vec<_>>>()?;
        let mut files = Vec::with_capacity(paths.len());
        for path in &paths {
            files.push((
                path.as_path(),
                load_spike_frames(path, &cache_dir, &binning, progress)?,
            ));
        }
        match_channels(&mut files, self.channels.is_some())?;
        let classes = files.iter().map(|f| f.1.classes()).max().unwrap_or(0);
        let mut sets: Vec<Shared> = files
            .into_iter()
            .map(|(_, mut frames)| {
                frames.set_classes(classes);
                Arc::new(frames) as Shared
            })
            .collect();
        let test = sets.pop().expect("a test file");
        let valid = (sets.len() == 2).then(|| sets.pop().expect("a validation file"));
        let train = sets.pop().expect("a training file");
        let held_out = HeldOut {
            fraction: self.valid_fraction,
            seed: self.valid_seed,
        };
        assemble(dir, train, valid, held_out, test, self.select_on)
    }

    fn name(&self) -> String {
        self.name
            .clone()
            .or_else(|| {
                Some(
                    self.dir
                        .as_ref()?
                        .file_name()?
                        .to_string_lossy()
                        .into_owned(),
                )
            })
            .unwrap_or_else(|| "spike-file".into())
    }

    fn input_description(&self, time_step_ms: f64) -> String {
        let b = self.binning(time_step_ms);
        let channels = match self.channels {
            Some(c) => format!("{c} → {}", b.pooled(c)),
            None => "all".into(),
        };
        format!(
            "{} spikes, {} binning of {time_step_ms} ms, {channels} channels (pool {})",
            self.name(),
            self.binning.name(),
            self.pool
        )
    }

    fn selection(&self) -> String {
        match (self.select_on, &self.valid_file) {
            (SelectOn::Test, _) => TEST_SELECTION.into(),
            (SelectOn::Valid, Some(valid)) => format!("best accuracy on {valid}"),
            (SelectOn::Valid, None) => format!(
                "best validation accuracy on a held-out {:.0}% of {} (stratified by class, seed \
                 {}); test set unseen during selection",
                100.0 * self.valid_fraction,
                self.train_file,
                self.valid_seed
            ),
        }
    }

    fn set_dir(&mut self, dir: PathBuf) -> Result<()> {
        self.dir = Some(dir);
        Ok(())
    }

    fn resolve_paths(&mut self, base: &std::path::Path) {
        crate::data::config::absolute_against(base, &mut self.dir);
        crate::data::config::absolute_against(base, &mut self.cache_dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_describe_the_published_pipelines() {
        let shd = SpikeFileConfig::shd();
        assert_eq!(
            shd.input_description(10.0),
            "shd spikes, event-anchored binning of 10 ms, 700 → 140 channels (pool 5)"
        );
        assert!(shd.selection().contains("held-out 10% of shd_train.h5"));
        assert_eq!(
            SpikeFileConfig::ssc().selection(),
            "best accuracy on ssc_valid.h5"
        );
        let err = shd.validate().unwrap_err().to_string();
        assert!(err.contains("data.dir"), "{err}");
        let generic = SpikeFileConfig {
            dir: Some("/data/my-sensor".into()),
            ..SpikeFileConfig::default()
        };
        assert_eq!(generic.name(), "my-sensor");
        generic.validate().unwrap();
    }
}
