//! `RunConfig`: everything a training run needs, as read from TOML (unknown keys are errors) and
//! command-line overrides, with the built-in task's defaults. Times are in milliseconds here and
//! are resolved into steps by [`RunConfig::network_config`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::DelayPatternsConfig;
use crate::data::binning::BinningMode;
use crate::data::log_mel::REFERENCE_F_MAX;
use crate::error::{Error, Result};
use crate::model::{ConvPath, DelayMode, NetworkConfig};

mod preset;
pub use preset::Preset;

/// Which data a run trains on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// The built-in generated task ([`DelayPatternsConfig`]).
    #[default]
    DelayPatterns,
    /// Spiking Heidelberg Digits: `shd_train.h5`, `shd_test.h5` in `data.dir`.
    Shd,
    /// Spiking Speech Commands: `ssc_train.h5`, `ssc_valid.h5`, `ssc_test.h5` in `data.dir`.
    Ssc,
    /// Google Speech Commands v0.02: the extracted folder `data.dir`.
    Gsc,
}

impl DatasetKind {
    /// The name used in configs and results.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::DelayPatterns => "delay-patterns",
            DatasetKind::Shd => "shd",
            DatasetKind::Ssc => "ssc",
            DatasetKind::Gsc => "gsc",
        }
    }
}

/// Which split selects the reported epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SelectOn {
    /// A validation split (for SHD, held out from the training file): honest.
    #[default]
    Valid,
    /// The test set, as the reference does for SHD (its "validation" set is the test set):
    /// reproduces its protocol, but the selected accuracy is optimistic.
    Test,
}

/// `[data]`: the dataset and its preprocessing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Dataset. Default: `delay-patterns`.
    pub dataset: DatasetKind,
    /// Folder with the files (SHD/SSC) or the extracted tree (GSC). Required for those.
    pub dir: Option<PathBuf>,
    /// Where preprocessed caches go. Default: `<dir>/.spikedelay-cache`.
    pub cache_dir: Option<PathBuf>,
    /// SHD/SSC binning: `event-anchored` (the paper's) or `fixed-grid` (method §17).
    pub binning: BinningMode,
    /// SHD/SSC: adjacent channels summed into one (`n_bins`). Default: 5 (700 → 140).
    pub pool: usize,
    /// SHD: fraction of each class of `shd_train.h5` held out for validation. Default: 0.1.
    pub valid_fraction: f64,
    /// SHD: seed of the held-out split. Default: 0.
    pub valid_seed: u64,
    /// Which split selects the reported epoch. Default: `valid`.
    pub select_on: SelectOn,
    /// GSC: upper edge of the mel filterbank, Hz. Default: 14000 as the reference (filters
    /// above 4 kHz are then empty); 4000 is the corrected variant.
    pub mel_f_max: f64,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            dataset: DatasetKind::DelayPatterns,
            dir: None,
            cache_dir: None,
            binning: BinningMode::EventAnchored,
            pool: 5,
            valid_fraction: 0.1,
            valid_seed: 0,
            select_on: SelectOn::Valid,
            mel_f_max: REFERENCE_F_MAX,
        }
    }
}

impl DataConfig {
    /// The cache folder.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        self.cache_dir
            .clone()
            .or_else(|| self.dir.as_ref().map(|d| d.join(".spikedelay-cache")))
    }

    /// The input pipeline in words (recorded in `summary.json`; the config holds it exactly).
    pub fn input_description(&self, time_step_ms: f64) -> String {
        match self.dataset {
            DatasetKind::DelayPatterns => "delay-patterns (generated spike counts)".into(),
            DatasetKind::Shd | DatasetKind::Ssc => format!(
                "{} spikes, {} binning of {time_step_ms} ms, 700 → {} channels (pool {})",
                self.dataset.name(),
                self.binning.name(),
                700 / self.pool.max(1),
                self.pool
            ),
            DatasetKind::Gsc => format!(
                "gsc log-mel: 16 kHz → 8 kHz, n_fft 256, hop 80, 140 HTK mel bins 50..{} Hz, dB",
                self.mel_f_max
            ),
        }
    }

    /// How the reported epoch is selected, in words (for `summary.json`).
    pub fn selection(&self) -> String {
        match (self.dataset, self.select_on) {
            (DatasetKind::Shd, SelectOn::Valid) => format!(
                "best validation accuracy on a held-out {:.0}% of shd_train.h5 (stratified by \
                 class, seed {}); test set unseen during selection",
                100.0 * self.valid_fraction,
                self.valid_seed
            ),
            (DatasetKind::Ssc, SelectOn::Valid) => "best accuracy on ssc_valid.h5".into(),
            (DatasetKind::Gsc, SelectOn::Valid) => {
                "best accuracy on the validation_list.txt split".into()
            }
            (DatasetKind::DelayPatterns, SelectOn::Valid) => {
                "best validation accuracy (held-out validation split)".into()
            }
            (_, SelectOn::Test) => "best TEST accuracy (the reference's protocol: the test set \
                                    selects the epoch, so the reported accuracy is optimistic)"
                .into(),
        }
    }
}

/// `[model]`: the network (method §18 names, times in ms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Hidden layer widths. Default: `[48, 48]`.
    pub hidden: Vec<usize>,
    /// Duration of one time step. Default: 10 ms.
    pub time_step_ms: f64,
    /// Maximum delay; `D = max_delay_ms // time_step_ms`, plus one if even. Default: 250 ms (D = 25).
    pub max_delay_ms: f64,
    /// Membrane time constant; `τ = (tau_ms + 1e-9)/time_step_ms` steps, must exceed 1.
    /// Default: 10.05 ms (τ = 1.005, as the reference's SHD config).
    pub tau_ms: f64,
    /// Hidden firing threshold. Default: 1.
    pub v_threshold: f32,
    /// Dropout probability after each hidden layer. Default: 0.25.
    pub dropout: f32,
    /// Kernel elements per synapse. Default: 1.
    pub kernel_count: usize,
    /// Delay treatment: `learned`, `fixed`, `none` or `constant-sigma`. Default: `learned`.
    pub delays: DelayMode,
    /// How delay convolutions are computed in training: `auto` (per layer and batch, by a cost
    /// model), `events`, `gemm`, `narrow` or `low-rank`. All agree within 1e-5; `events` sums in
    /// the integer-delay network's order. Default: `auto`.
    pub conv_path: ConvPath,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            hidden: vec![48, 48],
            time_step_ms: 10.0,
            max_delay_ms: 250.0,
            tau_ms: 10.05,
            v_threshold: 1.0,
            dropout: 0.25,
            kernel_count: 1,
            delays: DelayMode::Learned,
            conv_path: ConvPath::Auto,
        }
    }
}

/// `[train]`: the optimisation recipe (method §13–§14).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Epochs. Default: 50.
    pub epochs: usize,
    /// Batch size. Default: 64.
    pub batch_size: usize,
    /// Seed of initialisation, shuffling and dropout. Default: 0.
    pub seed: u64,
    /// One-cycle peak learning rate for weights and BatchNorm. Default: 5e-3.
    pub max_lr: f64,
    /// Initial (cosine-annealed) learning rate of positions. Default: 0.1.
    pub lr_positions: f64,
    /// Coupled L2 weight decay on delay-layer weights. Default: 1e-5.
    pub weight_decay: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 50,
            batch_size: 64,
            seed: 0,
            max_lr: 5e-3,
            lr_positions: 0.1,
            weight_decay: 1e-5,
        }
    }
}

/// A whole run's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// `[data]`.
    pub data: DataConfig,
    /// `[delay_patterns]`: the built-in task.
    pub delay_patterns: DelayPatternsConfig,
    /// `[model]`.
    pub model: ModelConfig,
    /// `[train]`.
    pub train: TrainConfig,
}

impl RunConfig {
    /// Reads a TOML file; unknown keys and wrong types are errors naming the key.
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            action: "reading config",
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text).map_err(|e| match e {
            Error::ConfigParse { message, .. } => Error::ConfigParse {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Reads a TOML file whose keys override `base` (a preset); unknown keys are errors.
    pub fn from_toml_file_over(base: &RunConfig, path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            action: "reading config",
            path: path.to_path_buf(),
            source,
        })?;
        let parse_err = |e: toml::de::Error| Error::ConfigParse {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        // Parsed alone first, so errors point at the user's own lines.
        Self::from_toml_str(&text).map_err(|e| match e {
            Error::ConfigParse { message, .. } => Error::ConfigParse {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })?;
        let mut merged: toml::Table = toml::from_str(&base.to_toml()).map_err(parse_err)?;
        let over: toml::Table = toml::from_str(&text).map_err(parse_err)?;
        fn merge(into: &mut toml::Table, over: toml::Table) {
            for (k, v) in over {
                match (into.get_mut(&k), v) {
                    (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
                    (_, v) => {
                        into.insert(k, v);
                    }
                }
            }
        }
        merge(&mut merged, over);
        merged.try_into().map_err(parse_err)
    }

    /// Parses TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::ConfigParse {
            path: "<string>".into(),
            message: e.to_string(),
        })
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("RunConfig serialises to TOML")
    }

    /// Number of delay taps `D` (method §2: `max_delay_ms // time_step_ms`, plus one if even).
    pub fn taps(&self) -> usize {
        let d = (self.model.max_delay_ms / self.model.time_step_ms).floor() as usize;
        if d.is_multiple_of(2) { d + 1 } else { d }
    }

    /// `τ` in steps: `(tau_ms + 1e-9)/time_step_ms` (method §9).
    pub fn tau_steps(&self) -> f64 {
        (self.model.tau_ms + 1e-9) / self.model.time_step_ms
    }

    /// Checks every value; errors name the TOML key.
    pub fn validate(&self) -> Result<()> {
        let m = &self.model;
        if !(m.time_step_ms > 0.0 && m.time_step_ms.is_finite()) {
            return Err(Error::config(
                "model.time_step_ms",
                format!("must be a positive number of ms, got {}", m.time_step_ms),
            ));
        }
        if m.max_delay_ms.is_nan() || m.max_delay_ms < m.time_step_ms {
            return Err(Error::config(
                "model.max_delay_ms",
                format!(
                    "is {} ms, below one time step ({} ms): the maximum delay must cover at least one step",
                    m.max_delay_ms, m.time_step_ms
                ),
            ));
        }
        if self.tau_steps().is_nan() || self.tau_steps() <= 1.0 {
            return Err(Error::config(
                "model.tau_ms",
                format!(
                    "gives τ = {:.4} steps; the LIF needs τ > 1 step (tau_ms > time_step_ms = {} ms)",
                    self.tau_steps(),
                    m.time_step_ms
                ),
            ));
        }
        if m.hidden.is_empty() || m.hidden.contains(&0) {
            return Err(Error::config(
                "model.hidden",
                format!("needs one or more positive widths, got {:?}", m.hidden),
            ));
        }
        if !(0.0..1.0).contains(&m.dropout) {
            return Err(Error::config(
                "model.dropout",
                format!("must be in [0, 1), got {}", m.dropout),
            ));
        }
        if m.v_threshold.is_nan() || m.v_threshold <= 0.0 {
            return Err(Error::config(
                "model.v_threshold",
                format!("must be positive, got {}", m.v_threshold),
            ));
        }
        if m.kernel_count == 0 {
            return Err(Error::config("model.kernel_count", "must be at least 1"));
        }
        let t = &self.train;
        if t.epochs == 0 {
            return Err(Error::config("train.epochs", "must be at least 1"));
        }
        if t.batch_size == 0 {
            return Err(Error::config("train.batch_size", "must be at least 1"));
        }
        for (key, v) in [
            ("train.max_lr", t.max_lr),
            ("train.lr_positions", t.lr_positions),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                return Err(Error::config(
                    key,
                    format!("must be a positive number, got {v}"),
                ));
            }
        }
        if t.weight_decay.is_nan() || t.weight_decay < 0.0 {
            return Err(Error::config(
                "train.weight_decay",
                format!("must be ≥ 0, got {}", t.weight_decay),
            ));
        }
        let d = &self.data;
        if d.pool == 0 || !700usize.is_multiple_of(d.pool) {
            return Err(Error::config(
                "data.pool",
                format!(
                    "must divide the 700 channels (1, 2, 4, 5, 7, 10, ...), got {}",
                    d.pool
                ),
            ));
        }
        if !(d.valid_fraction > 0.0 && d.valid_fraction < 1.0) {
            return Err(Error::config(
                "data.valid_fraction",
                format!("must be in (0, 1), got {}", d.valid_fraction),
            ));
        }
        if !(d.mel_f_max > 50.0 && d.mel_f_max.is_finite()) {
            return Err(Error::config(
                "data.mel_f_max",
                format!("must be above f_min = 50 Hz, got {}", d.mel_f_max),
            ));
        }
        match d.dataset {
            DatasetKind::DelayPatterns => self.delay_patterns.validate(),
            other => match &d.dir {
                None => Err(Error::config(
                    "data.dir",
                    format!(
                        "is required for dataset `{}` (pass --data-dir DIR)",
                        other.name()
                    ),
                )),
                Some(_) => Ok(()),
            },
        }
    }

    /// The resolved network for `inputs` channels and `outputs` classes.
    pub fn network_config(&self, inputs: usize, outputs: usize) -> NetworkConfig {
        let taps = self.taps();
        NetworkConfig {
            inputs,
            hidden: self.model.hidden.clone(),
            outputs,
            taps,
            kernel_count: self.model.kernel_count,
            tau: self.tau_steps(),
            v_threshold: self.model.v_threshold,
            dropout: self.model.dropout,
            delays: self.model.delays,
            sig_init: (taps / 2) as f32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_resolve() {
        let c = RunConfig::default();
        c.validate().unwrap();
        assert_eq!(c.taps(), 25);
        assert!((c.tau_steps() - 1.005).abs() < 1e-9);
        let mut c = c;
        c.model.max_delay_ms = 300.0;
        assert_eq!(c.taps(), 31);
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = RunConfig::from_toml_str("[model]\nhiden = [3]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("hiden"), "{err}");
        let err = RunConfig::from_toml_str("[modle]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("modle"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let cases = [
            ("[model]\nmax_delay_ms = 5.0\n", "model.max_delay_ms"),
            ("[model]\ntau_ms = 9.0\n", "model.tau_ms"),
            ("[model]\ntau_ms = 4.0\n", "model.tau_ms"),
            ("[model]\ndropout = 1.0\n", "model.dropout"),
            ("[train]\nepochs = 0\n", "train.epochs"),
            ("[delay_patterns]\nclasses = 1\n", "delay_patterns.classes"),
        ];
        for (text, key) in cases {
            let err = RunConfig::from_toml_str(text)
                .unwrap()
                .validate()
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
        let err = RunConfig::from_toml_str("[model]\ndelays = \"sometimes\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sometimes") && err.contains("learned"),
            "{err}"
        );
        let err = RunConfig::from_toml_str("[model]\nconv_path = \"fast\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("fast") && err.contains("narrow"), "{err}");
        let c = RunConfig::from_toml_str("[model]\nconv_path = \"low-rank\"\n").unwrap();
        assert_eq!(c.model.conv_path, ConvPath::LowRank);
    }

    #[test]
    fn toml_round_trip() {
        let mut c = RunConfig::default();
        c.model.delays = DelayMode::ConstantSigma;
        c.model.conv_path = ConvPath::Narrow;
        c.train.epochs = 7;
        assert_eq!(RunConfig::from_toml_str(&c.to_toml()).unwrap(), c);
    }
}
