//! Data: the [`Dataset`] trait and [`Splits`]; the dataset kinds a run can train on (the
//! `[data]` table, [`DataConfig`]): the built-in `delay-patterns` task, `spike-file` (HDF5 in
//! the SHD layout: SHD, SSC and any other spike data) and `audio-folder` (WAV clips by class:
//! GSC and any other keyword set); batching, caches, inspection, synthetic stand-ins and, with
//! the `download` feature, fetching the published datasets.
//!
//! A dataset yields, per sample, a `(T_i, C)` frame of counts (or features) and a label; batches
//! zero-pad every sample at the end to the longest one (docs/method.md §1.1, no masking).

pub mod arrays;
pub mod audio;
pub mod batch;
pub mod cache;
pub mod cochlea;
pub mod config;
pub mod dataset;
#[cfg(feature = "download")]
pub mod download;
pub mod fingerprint;
pub mod inspect;
pub mod progress;
pub mod spikes;
pub mod splits;
pub mod subset;
pub mod synthetic;

pub use arrays::ArrayData;
pub use audio::source::AudioFolderConfig;
pub use batch::{Batch, make_batch, make_batch_padded};
pub use config::{DataConfig, DatasetSource, SelectOn};
pub use dataset::{Dataset, Splits};
pub use progress::LoadProgress;
pub use spikes::binning::{Binning, BinningMode};
pub use spikes::source::SpikeFileConfig;
pub use synthetic::delay_patterns::{DelayPatterns, DelayPatternsConfig};
