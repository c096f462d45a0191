//! Presets: the reference's per-dataset configurations (method §18), as a base that a TOML
//! file and flags override.

use super::{RunConfig, TrainConfig};
use crate::data::{AudioFolderConfig, DataConfig, SpikeFileConfig};
use crate::error::{Error, Result};
use crate::model::DelayMode;

/// Named configurations (method §18).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Preset {
    /// The built-in generated task (the defaults).
    DelayPatterns,
    /// SHD: 2 × 256, D = 25, τ = 1.005, dropout 0.4, 150 epochs, batch 256.
    Shd,
    /// SSC: 3 × 512, D = 31, τ = 1.5, dropout 0.25, 60 epochs, batch 128.
    Ssc,
    /// GSC: 3 × 512, D = 31, τ = 1.5, dropout 0.25, 100 epochs, batch 128.
    Gsc,
}

impl Preset {
    /// Every preset's name.
    pub const NAMES: &[&str] = &["delay-patterns", "shd", "ssc", "gsc"];

    /// Parses a preset's name.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "delay-patterns" => Ok(Preset::DelayPatterns),
            "shd" => Ok(Preset::Shd),
            "ssc" => Ok(Preset::Ssc),
            "gsc" => Ok(Preset::Gsc),
            other => Err(Error::config(
                "preset",
                format!("is `{other}`; expected one of {}", Preset::NAMES.join(", ")),
            )),
        }
    }

    /// The reference's configuration for this dataset.
    pub fn config(self) -> RunConfig {
        if self == Preset::DelayPatterns {
            return RunConfig::default();
        }
        let mut c = RunConfig {
            train: TrainConfig {
                seed: 0,
                max_lr: 5e-3,
                lr_positions: 0.1,
                weight_decay: 1e-5,
                ..TrainConfig::default()
            },
            ..RunConfig::default()
        };
        c.model.time_step_ms = 10.0;
        c.model.v_threshold = 1.0;
        c.model.kernel_count = 1;
        c.model.delays = DelayMode::Learned;
        match self {
            Preset::DelayPatterns => unreachable!("returned above"),
            Preset::Shd => {
                c.data = DataConfig::SpikeFile(SpikeFileConfig::shd());
                c.model.hidden = vec![256, 256];
                c.model.tau_ms = 10.05;
                c.model.dropout = 0.4;
                c.model.max_delay_ms = 250.0;
                c.train.epochs = 150;
                c.train.batch_size = 256;
            }
            Preset::Ssc | Preset::Gsc => {
                c.data = if self == Preset::Ssc {
                    DataConfig::SpikeFile(SpikeFileConfig::ssc())
                } else {
                    DataConfig::AudioFolder(AudioFolderConfig::gsc())
                };
                c.model.hidden = vec![512, 512, 512];
                c.model.tau_ms = 15.0;
                c.model.dropout = 0.25;
                c.model.max_delay_ms = 300.0;
                c.train.epochs = if self == Preset::Ssc { 60 } else { 100 };
                c.train.batch_size = 128;
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_the_spec_tables() {
        let shd = Preset::Shd.config();
        assert_eq!(shd.model.hidden, vec![256, 256]);
        assert_eq!(
            (shd.taps(), shd.train.epochs, shd.train.batch_size),
            (25, 150, 256)
        );
        assert!((shd.tau_steps() - 1.005).abs() < 1e-9);
        assert_eq!(shd.model.dropout, 0.4);
        let ssc = Preset::Ssc.config();
        assert_eq!(ssc.model.hidden, vec![512, 512, 512]);
        assert_eq!(
            (ssc.taps(), ssc.train.epochs, ssc.train.batch_size),
            (31, 60, 128)
        );
        assert!((ssc.tau_steps() - 1.5).abs() < 1e-9);
        assert_eq!(ssc.model.dropout, 0.25);
        let gsc = Preset::Gsc.config();
        assert_eq!((gsc.taps(), gsc.train.epochs), (31, 100));
        assert_eq!(gsc.data, DataConfig::AudioFolder(AudioFolderConfig::gsc()));
        for c in [&shd, &ssc, &gsc] {
            assert_eq!(
                (c.train.max_lr, c.train.lr_positions, c.train.weight_decay),
                (5e-3, 0.1, 1e-5)
            );
            assert_eq!(c.train.seed, 0);
            assert_eq!(c.model.delays, DelayMode::Learned);
        }
        assert!(
            Preset::from_name("timit")
                .unwrap_err()
                .to_string()
                .contains("preset")
        );
    }

    #[test]
    fn toml_overrides_only_the_keys_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("over.toml");
        std::fs::write(
            &p,
            "[model]\nhidden = [8]\n[data]\nbinning = \"fixed-grid\"\n",
        )
        .unwrap();
        let c = RunConfig::from_toml_file_over(&Preset::Ssc.config(), &p).unwrap();
        assert_eq!(c.model.hidden, vec![8]);
        let DataConfig::SpikeFile(data) = &c.data else {
            panic!("ssc is a spike-file dataset: {:?}", c.data)
        };
        assert_eq!(data.binning, crate::data::BinningMode::FixedGrid);
        assert_eq!(data.train_file, "ssc_train.h5");
        assert_eq!((c.taps(), c.train.epochs, c.model.dropout), (31, 60, 0.25));
        std::fs::write(&p, "[model]\nhiden = [8]\n").unwrap();
        let err = RunConfig::from_toml_file_over(&Preset::Ssc.config(), &p).unwrap_err();
        assert!(err.to_string().contains("hiden"), "{err}");
    }
}
