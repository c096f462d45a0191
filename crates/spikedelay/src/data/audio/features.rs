//! Log-mel features of a split of an audio folder ([`super::log_mel`]), computed once in
//! parallel and cached in shards of [`SHARD_CLIPS`] clips keyed by the clips (paths, sizes,
//! modification times) and the feature settings.

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;
use safetensors::tensor::Dtype;
use sha2::{Digest, Sha256};

use super::folder::{AudioLayout, AudioSplit};
use super::log_mel::{INPUT_RATE, LogMel, MELS, frames_for};
use super::resample::SincResampler;
use super::wav::read_wav;
use crate::data::cache::{Array, CacheFile, f32s, le_bytes, write_cache};
use crate::data::dataset::Dataset;
use crate::data::progress::LoadProgress;
use crate::error::Result;

const FORMAT: &str = "spikedelay-audio-logmel-v3";

/// How clips become features.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureSettings {
    /// Samples per clip at 16 kHz (padded with zeros or cropped).
    pub clip_samples: usize,
    /// Upper edge of the mel filterbank, Hz.
    pub f_max: f64,
}

/// Log-mel features of one split: `(N, frames, 140)` in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioFeatures {
    features: Vec<f32>,
    labels: Vec<u32>,
    frames: usize,
    classes: Vec<String>,
}

impl Dataset for AudioFeatures {
    fn len(&self) -> usize {
        self.labels.len()
    }
    fn channels(&self) -> usize {
        MELS
    }
    fn classes(&self) -> usize {
        self.classes.len()
    }
    fn class_names(&self) -> Vec<String> {
        self.classes.clone()
    }
    fn label(&self, i: usize) -> usize {
        self.labels[i] as usize
    }
    fn steps(&self, _i: usize) -> usize {
        self.frames
    }
    fn write_frames(&self, i: usize, out: &mut [f32]) {
        let n = self.frames * MELS;
        out.copy_from_slice(&self.features[i * n..(i + 1) * n]);
    }
}

/// Features of one clip file: decode, downmix, resample to 16 kHz (as
/// `torchaudio.functional.resample` on float32), then the reference chain.
pub fn clip_features(path: &Path, log_mel: &LogMel) -> Result<Vec<f32>> {
    let audio = read_wav(path)?;
    let samples = if audio.sample_rate == INPUT_RATE {
        audio.samples
    } else {
        SincResampler::new_f32(audio.sample_rate, INPUT_RATE).apply(&audio.samples)
    };
    Ok(log_mel.features(&samples))
}

/// A digest of clip files (paths, sizes, modification times, and the whole content of up to 256
/// clips spread evenly over the list) and settings.
fn stamp(root: &Path, files: &[String], settings: FeatureSettings) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "{FORMAT}\nf_max={}\nclip={}\n",
        settings.f_max, settings.clip_samples
    ));
    for f in files {
        let md = std::fs::metadata(root.join(f)).ok();
        let len = md.as_ref().map_or(0, |m| m.len());
        let mtime = md
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        h.update(format!("{f}\t{len}\t{mtime}\n"));
    }
    let every = files.len().div_ceil(256).max(1);
    for f in files.iter().step_by(every) {
        if let Ok(bytes) = std::fs::read(root.join(f)) {
            h.update(&bytes);
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Clips per cache shard (about 116 MB of features): memory stays near the split's own size,
/// and an interrupted extraction resumes at the first missing shard.
pub const SHARD_CLIPS: usize = 2048;

/// Reads one cached shard if it matches `digest` and holds `n` clips of `frames` frames.
fn read_shard(path: &Path, digest: &str, n: usize, frames: usize) -> Option<Vec<f32>> {
    let cache = CacheFile::read(path)?;
    if cache.meta.get("stamp").map(String::as_str) != Some(digest) {
        return None;
    }
    let (shape, bytes) = cache.array("features", Dtype::F32).ok()?;
    (shape == [n, frames, MELS]).then(|| f32s(bytes))
}

/// The features of `split` of `layout` (named `name` in caches and progress): shard by shard
/// from the cache in `cache_dir` where it matches the clips and settings, else computed in
/// parallel and cached atomically.
pub fn load_features(
    layout: &AudioLayout,
    split: &AudioSplit,
    name: &str,
    cache_dir: &Path,
    settings: FeatureSettings,
    progress: &mut dyn LoadProgress,
) -> Result<AudioFeatures> {
    let frames = frames_for(settings.clip_samples);
    let per = frames * MELS;
    let f_max = settings.f_max;
    let mut features = Vec::with_capacity(split.files.len() * per);
    let mut log_mel = None;
    let mut started = false;
    for (k, files) in split.files.chunks(SHARD_CLIPS).enumerate() {
        let digest = stamp(&layout.root, files, settings);
        let path = cache_dir.join(format!(
            "audio-{name}-fmax{f_max}-clip{}-{k:04}.safetensors",
            settings.clip_samples
        ));
        if let Some(cached) = read_shard(&path, &digest, files.len(), frames) {
            features.extend_from_slice(&cached);
            continue;
        }
        if !started {
            progress.start(
                &format!("log-mel features of the {name} split"),
                split.files.len(),
            );
            progress.advance(k * SHARD_CLIPS);
            started = true;
        }
        let lm = log_mel.get_or_insert_with(|| LogMel::with_clip(f_max, settings.clip_samples));
        let start = features.len();
        for chunk in files.chunks(256) {
            let part = chunk
                .par_iter()
                .map(|f| clip_features(&layout.root.join(f), lm))
                .collect::<Result<Vec<_>>>()?;
            part.iter().for_each(|p| features.extend_from_slice(p));
            progress.advance(chunk.len());
        }
        let arrays = [Array {
            name: "features",
            dtype: Dtype::F32,
            shape: vec![files.len(), frames, MELS],
            bytes: le_bytes(&features[start..], f32::to_le_bytes),
        }];
        let meta = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("stamp".to_string(), digest),
            ("f_max".to_string(), f_max.to_string()),
        ]);
        write_cache(&path, &arrays, meta)?;
    }
    if started {
        progress.finish();
    }
    Ok(AudioFeatures {
        features,
        labels: split.labels.clone(),
        frames,
        classes: layout.classes.clone(),
    })
}
