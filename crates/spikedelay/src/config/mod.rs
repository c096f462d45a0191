//! `RunConfig`: everything a training run needs, as read from TOML (unknown keys are errors)
//! and command-line overrides, with the built-in task's defaults. It composes each part's own
//! configuration: [`DataConfig`] (`[data]`, one table per dataset kind), [`ModelConfig`]
//! (`[model]`, times in milliseconds) and [`TrainConfig`] (`[train]`, the recipe).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::DataConfig;
use crate::error::{Error, Result};
use crate::infer::SampleSteps;
use crate::model::NetworkConfig;
pub use crate::model::config::ModelConfig;

mod legacy;
mod preset;
mod set_key;
pub use preset::Preset;

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
    /// Which steps run and decide a sample in each epoch's evaluation (and so in model
    /// selection): `own` (its own steps plus the tail, whatever the batch) or `padded-batch`
    /// (the reference's: padded to its batch's longest sample; moves with `batch_size`).
    /// Default: own.
    pub eval_steps: SampleSteps,
    /// Fixed shards each training batch is split into for data parallelism (docs/design.md
    /// §8): each shard runs its convolutions alone, BatchNorm sees the whole batch. K
    /// processes (K dividing `shards`) give one process's results bit for bit. Default: 1 (the
    /// whole batch at once).
    pub shards: usize,
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
            eval_steps: SampleSteps::Own,
            shards: 1,
        }
    }
}

impl TrainConfig {
    /// Checks every value; errors name the `train.*` key.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::config("train.epochs", "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(Error::config("train.batch_size", "must be at least 1"));
        }
        crate::train::parallel::check_shards(self.shards, self.batch_size, 1)?;
        for (key, v) in [
            ("train.max_lr", self.max_lr),
            ("train.lr_positions", self.lr_positions),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                return Err(Error::config(
                    key,
                    format!("must be a positive number, got {v}"),
                ));
            }
        }
        if self.weight_decay.is_nan() || self.weight_decay < 0.0 {
            return Err(Error::config(
                "train.weight_decay",
                format!("must be ≥ 0, got {}", self.weight_decay),
            ));
        }
        Ok(())
    }
}

/// A whole run's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// `[data]`: the dataset kind (`dataset = ...`) and its settings.
    pub data: DataConfig,
    /// `[model]`.
    pub model: ModelConfig,
    /// `[train]`.
    pub train: TrainConfig,
}

fn parse_error(path: &Path) -> impl Fn(toml::de::Error) -> Error + '_ {
    move |e| Error::ConfigParse {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn read(path: &Path) -> Result<toml::Table> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        action: "reading config",
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(parse_error(path))
}

/// Names the first NaN or infinite number among `table`'s values (keys as `prefix.key`).
fn reject_non_finite(prefix: &str, table: &toml::Table) -> Result<()> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Float(x) if !x.is_finite() => {
                return Err(Error::config(
                    key,
                    format!("must be a finite number, got {x}"),
                ));
            }
            toml::Value::Table(t) => reject_non_finite(&key, t)?,
            toml::Value::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    if let toml::Value::Float(x) = item
                        && !x.is_finite()
                    {
                        return Err(Error::config(
                            format!("{key}[{i}]"),
                            format!("must be a finite number, got {x}"),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Puts `over`'s keys into `into`, table by table.
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

impl RunConfig {
    /// Reads a TOML file; unknown keys and wrong types are errors naming the key. Files
    /// written before the dataset kinds (`dataset = "shd"`, a `[delay_patterns]` table) are
    /// read as their equivalents.
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        Self::from_table(read(path)?, path)
    }

    /// Reads a TOML file whose keys override `base` (a preset); unknown keys are errors. A
    /// `[data]` table naming another `dataset` than `base` replaces `base`'s.
    pub fn from_toml_file_over(base: &RunConfig, path: &Path) -> Result<Self> {
        let mut over = read(path)?;
        legacy::upgrade(&mut over);
        let mut merged: toml::Table =
            toml::from_str(&base.to_toml()).map_err(parse_error(Path::new("<preset>")))?;
        let kind = |t: &toml::Table| {
            t.get("data")
                .and_then(|d| d.get("dataset"))
                .and_then(|k| k.as_str())
                .map(str::to_string)
        };
        if let Some(k) = kind(&over)
            && Some(&k) != kind(&merged).as_ref()
        {
            merged.remove("data");
        }
        merge(&mut merged, over);
        Self::from_table(merged, path)
    }

    /// Parses TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let path = Path::new("<string>");
        Self::from_table(toml::from_str(text).map_err(parse_error(path))?, path)
    }

    fn from_table(mut table: toml::Table, path: &Path) -> Result<Self> {
        legacy::upgrade(&mut table);
        if let Some(toml::Value::Table(data)) = table.get_mut("data") {
            data.entry("dataset")
                .or_insert_with(|| toml::Value::from("delay-patterns"));
        }
        table.try_into().map_err(parse_error(path))
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("RunConfig serialises to TOML")
    }

    /// Number of delay taps `D` (method §2).
    pub fn taps(&self) -> usize {
        self.model.taps()
    }

    /// `τ` in steps (method §9).
    pub fn tau_steps(&self) -> f64 {
        self.model.tau_steps()
    }

    /// Checks every value; errors name the TOML key.
    pub fn validate(&self) -> Result<()> {
        if let Ok(toml::Value::Table(t)) = toml::Value::try_from(self) {
            reject_non_finite("", &t)?;
        }
        self.model.validate()?;
        self.train.validate()?;
        self.data.validate()
    }

    /// The resolved network for `inputs` channels and `outputs` classes.
    pub fn network_config(&self, inputs: usize, outputs: usize) -> NetworkConfig {
        self.model.network_config(inputs, outputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConvPath, DelayMode};

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
            ("[data]\nclasses = 1\n", "data.classes"),
            ("[delay_patterns]\nclasses = 1\n", "data.classes"),
            ("[train]\nweight_decay = inf\n", "train.weight_decay"),
            ("[model]\ntau_ms = nan\n", "model.tau_ms"),
            ("[data]\njitter = -inf\n", "data.jitter"),
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
