//! `dataset = "audio-folder"`: WAV clips in one subfolder per class, any class names and clip
//! length, turned into the reference's log-mel features. Google Speech Commands v0.02 is a
//! preset ([`AudioFolderConfig::gsc`]).

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::features::{FeatureSettings, load_features};
use super::folder::AudioLayout;
use super::log_mel::{INPUT_RATE, REFERENCE_F_MAX, describe};
use crate::data::config::{DatasetSource, SelectOn, TEST_SELECTION, dir_required};
use crate::data::dataset::Splits;
use crate::data::progress::LoadProgress;
use crate::data::splits::{HeldOut, Shared, assemble};
use crate::error::{Error, Result};

/// GSC's 35 words in the reference's label order (its folder names, sorted).
pub const GSC_WORDS: [&str; 35] = [
    "backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward", "four",
    "go", "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one", "right",
    "seven", "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow", "yes", "zero",
];

/// Settings of an `audio-folder` dataset (the `[data]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AudioFolderConfig {
    /// The dataset's name in results. Default: the folder's name.
    pub name: Option<String>,
    /// The folder. Required.
    pub dir: Option<PathBuf>,
    /// Where feature caches go. Default: `<dir>/.spikedelay-cache`.
    pub cache_dir: Option<PathBuf>,
    /// Class names in label order. Default: the lines of `<dir>/classes.txt` if present, else
    /// the subfolder names, sorted.
    pub classes: Option<Vec<String>>,
    /// Clip length: shorter clips are padded with silence, longer ones cropped. Default: 1.0 s.
    pub clip_seconds: f64,
    /// Upper edge of the mel filterbank, Hz. Default: 14000 as the reference (filters above
    /// the 4 kHz Nyquist frequency are then empty); 4000 is the corrected variant.
    pub mel_f_max: f64,
    /// Without split lists: percent of speakers for validation. Default: 10.
    pub valid_percent: f64,
    /// Without split lists: percent of speakers for testing. Default: 10.
    pub test_percent: f64,
    /// Which split selects the reported epoch. Default: `valid`.
    pub select_on: SelectOn,
}

impl Default for AudioFolderConfig {
    fn default() -> Self {
        AudioFolderConfig {
            name: None,
            dir: None,
            cache_dir: None,
            classes: None,
            clip_seconds: 1.0,
            mel_f_max: REFERENCE_F_MAX,
            valid_percent: 10.0,
            test_percent: 10.0,
            select_on: SelectOn::Valid,
        }
    }
}

impl AudioFolderConfig {
    /// Google Speech Commands v0.02 (the extracted `speech_commands_v0.02` folder): the 35
    /// words in the reference's order, its split lists, 1-s clips.
    pub fn gsc() -> Self {
        AudioFolderConfig {
            name: Some("gsc".into()),
            classes: Some(GSC_WORDS.iter().map(|w| w.to_string()).collect()),
            ..AudioFolderConfig::default()
        }
    }

    /// The cache folder.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        self.cache_dir
            .clone()
            .or_else(|| self.dir.as_ref().map(|d| d.join(".spikedelay-cache")))
    }

    /// Samples per clip at 16 kHz.
    pub fn clip_samples(&self) -> usize {
        (self.clip_seconds * INPUT_RATE as f64).round() as usize
    }

    /// Scans the folder.
    pub fn layout(&self) -> Result<AudioLayout> {
        let dir = self
            .dir
            .as_deref()
            .ok_or_else(|| dir_required("audio-folder"))?;
        AudioLayout::scan(
            dir,
            self.classes.as_deref(),
            self.valid_percent,
            self.test_percent,
        )
    }
}

impl DatasetSource for AudioFolderConfig {
    fn validate(&self) -> Result<()> {
        if self.dir.is_none() {
            return Err(dir_required("audio-folder"));
        }
        if !(self.clip_seconds > 0.0 && self.clip_seconds <= 600.0) {
            return Err(Error::config(
                "data.clip_seconds",
                format!("must be in (0, 600] seconds, got {}", self.clip_seconds),
            ));
        }
        if !(self.mel_f_max > super::log_mel::F_MIN && self.mel_f_max.is_finite()) {
            return Err(Error::config(
                "data.mel_f_max",
                format!(
                    "must be above f_min = {} Hz, got {}",
                    super::log_mel::F_MIN,
                    self.mel_f_max
                ),
            ));
        }
        for (key, v) in [
            ("data.valid_percent", self.valid_percent),
            ("data.test_percent", self.test_percent),
        ] {
            if !(0.0..100.0).contains(&v) {
                return Err(Error::config(key, format!("must be in [0, 100), got {v}")));
            }
        }
        if self.valid_percent + self.test_percent >= 100.0 {
            return Err(Error::config(
                "data.test_percent",
                "with data.valid_percent leaves no speakers for training",
            ));
        }
        if let Some(c) = &self.classes {
            if c.is_empty() {
                return Err(Error::config(
                    "data.classes",
                    "must name at least one class",
                ));
            }
            if let Some(d) = c.iter().enumerate().find(|(i, n)| c[..*i].contains(n)) {
                return Err(Error::config(
                    "data.classes",
                    format!("names `{}` twice", d.1),
                ));
            }
        }
        Ok(())
    }

    fn load(&self, _time_step_ms: f64, progress: &mut dyn LoadProgress) -> Result<Splits> {
        let layout = self.layout()?;
        let cache_dir = self.cache_dir().expect("data.dir is set");
        let settings = FeatureSettings {
            clip_samples: self.clip_samples(),
            f_max: self.mel_f_max,
        };
        let mut split = |s, name| -> Result<Shared> {
            Ok(Arc::new(load_features(
                &layout, s, name, &cache_dir, settings, progress,
            )?))
        };
        let train = split(&layout.training, "training")?;
        let test = split(&layout.testing, "testing")?;
        let valid = match self.select_on {
            SelectOn::Test => None,
            SelectOn::Valid => Some(split(&layout.validation, "validation")?),
        };
        let held_out = HeldOut {
            fraction: 0.1,
            seed: 0,
        };
        assemble(&layout.root, train, valid, held_out, test, self.select_on)
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
            .unwrap_or_else(|| "audio-folder".into())
    }

    fn input_description(&self, _time_step_ms: f64) -> String {
        format!(
            "{} {}, clips of {} s",
            self.name(),
            describe(self.mel_f_max),
            self.clip_seconds
        )
    }

    fn selection(&self) -> String {
        if self.select_on == SelectOn::Test {
            return TEST_SELECTION.into();
        }
        let lists = self
            .dir
            .as_ref()
            .is_some_and(|d| d.join("validation_list.txt").is_file());
        if lists {
            "best accuracy on the validation_list.txt split".into()
        } else {
            format!(
                "best accuracy on the {}% of speakers GSC's hash rule puts in validation",
                self.valid_percent
            )
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
