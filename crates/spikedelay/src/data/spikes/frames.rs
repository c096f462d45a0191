//! A binned spike file in memory: sparse `(frame, channel, count)` entries per sample, built
//! once from the HDF5 file (in parallel, with progress) and cached next to it, so epochs never
//! re-read HDF5.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use safetensors::tensor::Dtype;

use super::binning::{BinnedSample, Binning};
use super::file::SpikeFile;
use crate::data::cache::{Array, CacheFile, le_bytes, u16s, u32s, u64s, write_cache};
use crate::data::dataset::Dataset;
use crate::data::progress::LoadProgress;
use crate::error::{Error, Result};

const FORMAT: &str = "spikedelay-spike-frames-v2";

/// Most frames one sample may have (frame indices are stored as `u16`): 655 s at 10 ms.
pub const MAX_FRAMES: usize = u16::MAX as usize;

/// Largest pooled channel id (channel ids are stored as `u16`).
pub const MAX_CHANNEL: usize = u16::MAX as usize;

/// A binned split: counts per `(frame, pooled channel)`, sparse (6 bytes per non-zero count).
#[derive(Debug, Clone, PartialEq)]
pub struct SpikeFrames {
    channels: usize,
    classes: usize,
    steps: Vec<u32>,
    offsets: Vec<u64>,
    frame: Vec<u16>,
    channel: Vec<u16>,
    count: Vec<u16>,
    labels: Vec<u32>,
    /// Word per class id (from the file's `extra/keys`).
    pub keys: Vec<String>,
}

impl SpikeFrames {
    /// Stacks binned samples.
    pub fn from_binned(
        binned: Vec<BinnedSample>,
        labels: Vec<u32>,
        channels: usize,
        classes: usize,
        keys: Vec<String>,
    ) -> Self {
        let mut out = SpikeFrames {
            channels,
            classes,
            steps: Vec::with_capacity(binned.len()),
            offsets: vec![0],
            frame: Vec::new(),
            channel: Vec::new(),
            count: Vec::new(),
            labels,
            keys,
        };
        for b in binned {
            out.steps.push(b.steps as u32);
            for (f, c, n) in b.entries {
                out.frame.push(f as u16);
                out.channel.push(c);
                out.count.push(n);
            }
            out.offsets.push(out.frame.len() as u64);
        }
        out
    }

    /// Samples that had no spikes (each became one zero frame).
    pub fn empty_samples(&self) -> usize {
        self.offsets.windows(2).filter(|w| w[0] == w[1]).count()
    }

    /// Total spikes (sum of counts) of sample `i`.
    pub fn spikes(&self, i: usize) -> u64 {
        let r = self.offsets[i] as usize..self.offsets[i + 1] as usize;
        self.count[r].iter().map(|&c| c as u64).sum()
    }

    /// The labels.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// Sets the class count (train and test files of one dataset must agree).
    pub fn set_classes(&mut self, classes: usize) {
        self.classes = classes;
    }

    /// Sets the channel count to `channels`, at least the channels the spikes reach.
    pub fn set_channels(&mut self, channels: usize) {
        debug_assert!(self.channel.iter().all(|&c| (c as usize) < channels));
        self.channels = channels;
    }

    /// One more than the largest channel any spike reaches.
    pub fn channels_used(&self) -> usize {
        self.channel.iter().max().map_or(0, |&c| c as usize + 1)
    }

    fn save(&self, path: &Path, mut meta: HashMap<String, String>) -> Result<()> {
        meta.insert("format".into(), FORMAT.into());
        meta.insert(
            "keys".into(),
            serde_json::to_string(&self.keys).expect("json"),
        );
        meta.insert("channels".into(), self.channels.to_string());
        meta.insert("classes".into(), self.classes.to_string());
        let n = self.steps.len();
        let e = self.frame.len();
        let arrays = [
            Array {
                name: "steps",
                dtype: Dtype::U32,
                shape: vec![n],
                bytes: le_bytes(&self.steps, u32::to_le_bytes),
            },
            Array {
                name: "labels",
                dtype: Dtype::U32,
                shape: vec![n],
                bytes: le_bytes(&self.labels, u32::to_le_bytes),
            },
            Array {
                name: "offsets",
                dtype: Dtype::U64,
                shape: vec![n + 1],
                bytes: le_bytes(&self.offsets, u64::to_le_bytes),
            },
            Array {
                name: "frame",
                dtype: Dtype::U16,
                shape: vec![e],
                bytes: le_bytes(&self.frame, u16::to_le_bytes),
            },
            Array {
                name: "channel",
                dtype: Dtype::U16,
                shape: vec![e],
                bytes: le_bytes(&self.channel, u16::to_le_bytes),
            },
            Array {
                name: "count",
                dtype: Dtype::U16,
                shape: vec![e],
                bytes: le_bytes(&self.count, u16::to_le_bytes),
            },
        ];
        write_cache(path, &arrays, meta)
    }

    fn load(cache: &CacheFile) -> Result<Self> {
        let num = |k: &str| -> Option<usize> { cache.meta.get(k)?.parse().ok() };
        let keys: Vec<String> = cache
            .meta
            .get("keys")
            .and_then(|k| serde_json::from_str(k).ok())
            .unwrap_or_default();
        let out = SpikeFrames {
            channels: num("channels").unwrap_or(0),
            classes: num("classes").unwrap_or(0),
            steps: u32s(cache.array("steps", Dtype::U32)?.1),
            labels: u32s(cache.array("labels", Dtype::U32)?.1),
            offsets: u64s(cache.array("offsets", Dtype::U64)?.1),
            frame: u16s(cache.array("frame", Dtype::U16)?.1),
            channel: u16s(cache.array("channel", Dtype::U16)?.1),
            count: u16s(cache.array("count", Dtype::U16)?.1),
            keys,
        };
        Ok(out)
    }

    fn consistent(&self) -> bool {
        let n = self.steps.len();
        self.labels.len() == n
            && self.offsets.len() == n + 1
            && self.offsets.last().copied() == Some(self.frame.len() as u64)
            && self.channel.len() == self.frame.len()
            && self.count.len() == self.frame.len()
            && self.channel.iter().all(|&c| (c as usize) < self.channels)
            && (0..n).all(|i| {
                let r = self.offsets[i] as usize..self.offsets[i + 1] as usize;
                self.frame[r].iter().all(|&f| (f as u32) < self.steps[i])
            })
    }
}

impl Dataset for SpikeFrames {
    fn len(&self) -> usize {
        self.steps.len()
    }
    fn channels(&self) -> usize {
        self.channels
    }
    fn classes(&self) -> usize {
        self.classes
    }
    fn class_names(&self) -> Vec<String> {
        self.keys.clone()
    }
    fn label(&self, i: usize) -> usize {
        self.labels[i] as usize
    }
    fn steps(&self, i: usize) -> usize {
        self.steps[i] as usize
    }
    fn write_frames(&self, i: usize, out: &mut [f32]) {
        let r = self.offsets[i] as usize..self.offsets[i + 1] as usize;
        for ((&f, &c), &n) in self.frame[r.clone()]
            .iter()
            .zip(&self.channel[r.clone()])
            .zip(&self.count[r])
        {
            out[f as usize * self.channels + c as usize] += n as f32;
        }
    }
}

/// Where the cache of `source` binned with `binning` lives inside `cache_dir`.
pub fn cache_path(source: &Path, cache_dir: &Path, binning: &Binning) -> PathBuf {
    let name = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into());
    let channels = binning.channels.map_or("auto".into(), |c| c.to_string());
    cache_dir.join(format!(
        "{name}.{}-{}ms-pool{}-ch{channels}.safetensors",
        binning.mode.name(),
        binning.duration_ms,
        binning.pool
    ))
}

fn source_stamp(source: &Path) -> Result<HashMap<String, String>> {
    let md = std::fs::metadata(source).map_err(|e| Error::Io {
        action: "reading",
        path: source.to_path_buf(),
        source: e,
    })?;
    let mtime = md
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok(HashMap::from([
        ("source_len".to_string(), md.len().to_string()),
        ("source_mtime_ns".to_string(), mtime.to_string()),
        (
            "source_sample_sha256".to_string(),
            crate::data::cache::content_sample_digest(source)?,
        ),
    ]))
}

/// Bins every sample of `file` (in parallel, validating each).
pub fn bin_file(
    file: &mut SpikeFile,
    binning: &Binning,
    progress: &mut dyn LoadProgress,
) -> Result<SpikeFrames> {
    file.set_channel_limit(binning.channels);
    let file = &*file;
    let n = file.len();
    let classes = file.classes();
    file.check_labels(classes)?;
    progress.start(&format!("binning {}", file.path().display()), n);
    let mut binned = Vec::with_capacity(n);
    let idx: Vec<usize> = (0..n).collect();
    for chunk in idx.chunks(256) {
        let part = chunk
            .par_iter()
            .map(|&i| {
                let sample = file.sample(i)?;
                if let Some(&u) = sample.units.iter().max()
                    && u as usize / binning.pool.max(1) > MAX_CHANNEL
                {
                    return Err(Error::data(
                        file.path(),
                        format!(
                            "sample {i}: `spikes/units` holds unit {u}; with pool {} at most \
                             {} pooled channels are supported",
                            binning.pool,
                            MAX_CHANNEL + 1
                        ),
                    ));
                }
                let b = binning.bin(&sample, file.time_width);
                if b.steps > MAX_FRAMES {
                    return Err(Error::data(
                        file.path(),
                        format!(
                            "sample {i}: `spikes/times` spans {} frames of {} ms; at most \
                             {MAX_FRAMES} are supported (are the times in seconds?)",
                            b.steps, binning.duration_ms
                        ),
                    ));
                }
                Ok(b)
            })
            .collect::<Result<Vec<_>>>()?;
        binned.extend(part);
        progress.advance(chunk.len());
    }
    progress.finish();
    let channels = match binning.channels {
        Some(c) => binning.pooled(c),
        None => binned
            .iter()
            .flat_map(|b| b.entries.iter().map(|e| e.1 as usize + 1))
            .max()
            .unwrap_or(1),
    };
    Ok(SpikeFrames::from_binned(
        binned,
        file.labels.clone(),
        channels,
        classes,
        file.keys.clone(),
    ))
}

/// The binned frames of `source`: from its cache in `cache_dir` when that matches the file and
/// settings, else built from the HDF5 file and cached (atomically).
pub fn load_spike_frames(
    source: &Path,
    cache_dir: &Path,
    binning: &Binning,
    progress: &mut dyn LoadProgress,
) -> Result<SpikeFrames> {
    let stamp = source_stamp(source)?;
    let path = cache_path(source, cache_dir, binning);
    let cached = CacheFile::read(&path).and_then(|cache| {
        let fresh = cache.meta.get("format").map(String::as_str) == Some(FORMAT)
            && stamp.iter().all(|(k, v)| cache.meta.get(k) == Some(v));
        let frames = SpikeFrames::load(&cache).ok()?;
        (fresh && frames.consistent()).then_some(frames)
    });
    let frames = match cached {
        Some(frames) => frames,
        None => {
            let mut file = SpikeFile::open(source)?;
            let frames = bin_file(&mut file, binning, progress)?;
            frames.save(&path, stamp)?;
            frames
        }
    };
    let empty = frames.empty_samples();
    if empty > 0 {
        progress.note(&format!(
            "{}: {} sample(s) without spikes, each binned as one zero frame",
            source.display(),
            empty
        ));
    }
    Ok(frames)
}
