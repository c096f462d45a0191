//! `[data]`: which dataset a run trains on and how it is prepared.
//!
//! Each dataset kind is one file holding its settings (a struct read from the `[data]` table,
//! unknown keys are errors) and a [`DatasetSource`] implementation that turns them into
//! [`Splits`]. [`DataConfig`] is the tagged union of the kinds, keyed by `dataset = "..."`; a
//! new kind is its own file plus one line in the `dataset_kinds!` list below.
//!
//! SHD, SSC and GSC are not kinds of their own: they are presets of `spike-file` and
//! `audio-folder` (`SpikeFileConfig::shd()`, `AudioFolderConfig::gsc()`, ...).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::audio::source::AudioFolderConfig;
use super::dataset::Splits;
use super::progress::LoadProgress;
use super::spikes::source::SpikeFileConfig;
use super::synthetic::delay_patterns::DelayPatternsConfig;
use crate::error::{Error, Result};

/// Which split selects the reported epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum SelectOn {
    /// A validation split (held out of the training data where the dataset has none): honest.
    #[default]
    Valid,
    /// The test set, as the reference does for SHD (its "validation" set is the test set):
    /// reproduces its protocol, but the selected accuracy is optimistic.
    Test,
}

/// What one dataset kind provides.
pub trait DatasetSource {
    /// Checks the settings; errors name the `data.*` key.
    fn validate(&self) -> Result<()>;
    /// The training, validation and test sets, for a model stepping `time_step_ms` ms; long
    /// preparation (cache builds) is reported to `progress`.
    fn load(&self, time_step_ms: f64, progress: &mut dyn LoadProgress) -> Result<Splits>;
    /// The dataset's name in results and default run folders.
    fn name(&self) -> String;
    /// The input pipeline in words (recorded in `summary.json`; the config holds it exactly).
    fn input_description(&self, time_step_ms: f64) -> String;
    /// How the reported epoch is chosen, in words (for `summary.json`).
    fn selection(&self) -> String;
    /// Reads the data from `dir`; an error for kinds that generate their data.
    fn set_dir(&mut self, dir: PathBuf) -> Result<()>;
    /// Makes relative folders (`dir`, `cache_dir`) absolute against `base` (the working folder
    /// they were typed in), so a saved run reads the same data from anywhere.
    fn resolve_paths(&mut self, _base: &std::path::Path) {}
}

/// `path` made absolute against `base` (unchanged when already absolute).
pub(crate) fn absolute_against(base: &std::path::Path, path: &mut Option<PathBuf>) {
    if let Some(p) = path
        && p.is_relative()
    {
        *p = base.join(&*p);
    }
}

/// Defines [`DataConfig`] from the list of kinds: one variant each, tagged by `dataset`. Every
/// kind's settings have a `select_on` field.
macro_rules! dataset_kinds {
    ($( $(#[$doc:meta])* $variant:ident($config:ty) = $name:literal, )+) => {
        /// `[data]`: one dataset kind and its settings, chosen by `dataset = "..."`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "dataset")]
        pub enum DataConfig {
            $( $(#[$doc])* #[serde(rename = $name)] $variant($config), )+
        }

        impl DataConfig {
            /// The `dataset` names of every kind.
            pub const KINDS: &[&str] = &[$($name),+];

            /// The `dataset` name of this kind.
            pub fn kind(&self) -> &'static str {
                match self { $( DataConfig::$variant(_) => $name, )+ }
            }

            /// The kind's implementation.
            pub fn source(&self) -> &dyn DatasetSource {
                match self { $( DataConfig::$variant(c) => c, )+ }
            }

            /// The kind's implementation, to change its settings.
            pub fn source_mut(&mut self) -> &mut dyn DatasetSource {
                match self { $( DataConfig::$variant(c) => c, )+ }
            }

            /// Which split selects the reported epoch.
            pub fn select_on(&self) -> SelectOn {
                match self { $( DataConfig::$variant(c) => c.select_on, )+ }
            }

            /// Sets which split selects the reported epoch.
            pub fn set_select_on(&mut self, select_on: SelectOn) {
                match self { $( DataConfig::$variant(c) => c.select_on = select_on, )+ }
            }
        }
    };
}

dataset_kinds! {
    /// The built-in generated task.
    DelayPatterns(DelayPatternsConfig) = "delay-patterns",
    /// HDF5 spike files in the SHD layout (SHD and SSC are presets).
    SpikeFile(SpikeFileConfig) = "spike-file",
    /// A folder of WAV clips, one subfolder per class (GSC is a preset).
    AudioFolder(AudioFolderConfig) = "audio-folder",
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig::DelayPatterns(DelayPatternsConfig::default())
    }
}

impl DataConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        self.source().validate()
    }

    /// Loads the splits.
    pub fn load(&self, time_step_ms: f64, progress: &mut dyn LoadProgress) -> Result<Splits> {
        self.validate()?;
        self.source().load(time_step_ms, progress)
    }

    /// The dataset's name in results.
    pub fn name(&self) -> String {
        self.source().name()
    }

    /// The input pipeline in words.
    pub fn input_description(&self, time_step_ms: f64) -> String {
        self.source().input_description(time_step_ms)
    }

    /// How events streamed to a network trained on this data are binned: as the spike files
    /// were (`spike-file`), else on a plain grid of the model's step with no pooling.
    pub fn stream_binning(&self, time_step_ms: f64) -> crate::data::Binning {
        match self {
            DataConfig::SpikeFile(c) => c.binning(time_step_ms),
            _ => crate::data::Binning {
                mode: crate::data::BinningMode::FixedGrid,
                duration_ms: time_step_ms,
                pool: 1,
                channels: None,
            },
        }
    }

    /// How the reported epoch is chosen, in words.
    pub fn selection(&self) -> String {
        self.source().selection()
    }
}

/// The error for a folder-based kind whose `data.dir` is missing.
pub(crate) fn dir_required(kind: &str) -> Error {
    Error::DataDirMissing { kind: kind.into() }
}

/// The selection sentence for the test-selected protocol, shared by every kind.
pub(crate) const TEST_SELECTION: &str = "best TEST accuracy (the reference's protocol: the test \
                                         set selects the epoch, so the reported accuracy is \
                                         optimistic)";
