//! Google Speech Commands v0.02 folders (datasets.md §5): the 35 words in the reference's label
//! order, the three splits with torchaudio's `SPEECHCOMMANDS` semantics, and the log-mel features
//! of every clip, computed once in parallel and cached.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use safetensors::tensor::Dtype;
use sha2::{Digest, Sha256};

use super::Dataset;
use super::cache_file::{Array, CacheFile, f32s, le_bytes, write_cache};
use super::log_mel::{FRAMES, LogMel, MELS};
use super::resample::SincResampler;
use super::spike_frames::LoadProgress;
use super::wav::read_wav;
use crate::error::{Error, Result};

/// The 35 words; a clip's class is its folder's index here (REF `datasets.py:299`).
pub const GSC_WORDS: [&str; 35] = [
    "backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward", "four",
    "go", "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one", "right",
    "seven", "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow", "yes", "zero",
];

const BACKGROUND: &str = "_background_noise_";
const FORMAT: &str = "spikedelay-gsc-logmel-v2";

/// One split: clip paths relative to the root, and their classes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GscSplit {
    /// Relative paths, `word/speaker_nohash_k.wav`.
    pub files: Vec<String>,
    /// Class per clip.
    pub labels: Vec<u32>,
}

/// The three splits of a GSC folder.
#[derive(Debug, Clone, PartialEq)]
pub struct GscLayout {
    /// The folder.
    pub root: PathBuf,
    /// Every clip in neither list, sorted by path.
    pub training: GscSplit,
    /// `validation_list.txt`, in file order.
    pub validation: GscSplit,
    /// `testing_list.txt`, in file order.
    pub testing: GscSplit,
}

fn label_of(root: &Path, rel: &str, source: &str) -> Result<u32> {
    let word = rel.split('/').next().unwrap_or("");
    GSC_WORDS
        .iter()
        .position(|w| *w == word)
        .map(|i| i as u32)
        .ok_or_else(|| {
            Error::data(
                root,
                format!(
                    "{source}: `{rel}` is in folder `{word}`, which is not one of the 35 GSC words"
                ),
            )
        })
}

fn read_list(root: &Path, name: &str) -> Result<Vec<String>> {
    let path = root.join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::data(
            &path,
            format!("cannot read the split list ({e}); a GSC folder has validation_list.txt and testing_list.txt"),
        )
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.trim_start_matches("./").to_string())
        .collect())
}

impl GscLayout {
    /// Scans `root`; errors name the folder, list file or clip at fault.
    pub fn scan(root: &Path) -> Result<Self> {
        if !root.is_dir() {
            return Err(Error::data(
                root,
                "no such folder (expected an extracted speech_commands_v0.02 tree)",
            ));
        }
        let split = |name: &str| -> Result<GscSplit> {
            let files = read_list(root, name)?;
            let mut labels = Vec::with_capacity(files.len());
            for (line, f) in files.iter().enumerate() {
                labels.push(label_of(root, f, &format!("{name} line {}", line + 1))?);
                if !root.join(f).is_file() {
                    return Err(Error::data(
                        root,
                        format!("{name} line {}: `{f}` does not exist", line + 1),
                    ));
                }
            }
            Ok(GscSplit { files, labels })
        };
        let validation = split("validation_list.txt")?;
        let testing = split("testing_list.txt")?;
        let listed: HashSet<&String> = validation.files.iter().chain(&testing.files).collect();
        let mut files = Vec::new();
        let dirs = std::fs::read_dir(root).map_err(|source| Error::Io {
            action: "listing",
            path: root.to_path_buf(),
            source,
        })?;
        for dir in dirs.flatten() {
            let word = dir.file_name().to_string_lossy().into_owned();
            if word == BACKGROUND || !dir.path().is_dir() {
                continue;
            }
            for f in std::fs::read_dir(dir.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = f.file_name().to_string_lossy().into_owned();
                if name.ends_with(".wav") && name.contains("_nohash_") {
                    let rel = format!("{word}/{name}");
                    if !listed.contains(&rel) {
                        files.push(rel);
                    }
                }
            }
        }
        files.sort();
        let labels = files
            .iter()
            .map(|f| label_of(root, f, "training clip"))
            .collect::<Result<_>>()?;
        Ok(GscLayout {
            root: root.to_path_buf(),
            training: GscSplit { files, labels },
            validation,
            testing,
        })
    }
}

/// Log-mel features of one split: `(N, 101, 140)` in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct GscFeatures {
    features: Vec<f32>,
    labels: Vec<u32>,
}

impl Dataset for GscFeatures {
    fn len(&self) -> usize {
        self.labels.len()
    }
    fn channels(&self) -> usize {
        MELS
    }
    fn classes(&self) -> usize {
        GSC_WORDS.len()
    }
    fn label(&self, i: usize) -> usize {
        self.labels[i] as usize
    }
    fn steps(&self, _i: usize) -> usize {
        FRAMES
    }
    fn write_frames(&self, i: usize, out: &mut [f32]) {
        let n = FRAMES * MELS;
        out.copy_from_slice(&self.features[i * n..(i + 1) * n]);
    }
}

/// Features of one clip file: decode, downmix, resample to 16 kHz (as
/// `torchaudio.functional.resample` on float32), then the reference chain.
pub fn clip_features(path: &Path, log_mel: &LogMel) -> Result<Vec<f32>> {
    let audio = read_wav(path)?;
    let samples = if audio.sample_rate == 16_000 {
        audio.samples
    } else {
        SincResampler::new_f32(audio.sample_rate, 16_000).apply(&audio.samples)
    };
    Ok(log_mel.features(&samples))
}

/// A digest of clip files (paths, sizes, modification times) and settings.
fn stamp(root: &Path, files: &[String], f_max: f64) -> String {
    let mut h = Sha256::new();
    h.update(format!("{FORMAT}\nf_max={f_max}\n"));
    for f in files {
        let md = std::fs::metadata(root.join(f)).ok();
        let len = md.as_ref().map_or(0, |m| m.len());
        let mtime = md
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        h.update(format!("{f}\t{len}\t{mtime}\n"));
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Clips per cache shard (about 116 MB of features): memory stays near the split's own size,
/// and an interrupted extraction resumes at the first missing shard.
pub const SHARD_CLIPS: usize = 2048;

/// Reads one cached shard if it matches `digest` and holds `n` clips.
fn read_shard(path: &Path, digest: &str, n: usize) -> Option<Vec<f32>> {
    let cache = CacheFile::read(path)?;
    if cache.meta.get("stamp").map(String::as_str) != Some(digest) {
        return None;
    }
    let (shape, bytes) = cache.array("features", Dtype::F32).ok()?;
    (shape == [n, FRAMES, MELS]).then(|| f32s(bytes))
}

/// The features of `split` (named `name` in caches and progress): shard by shard from the
/// cache in `cache_dir` where it matches the clips and `f_max`, else computed in parallel and
/// cached atomically.
pub fn load_gsc_split(
    layout: &GscLayout,
    split: &GscSplit,
    name: &str,
    cache_dir: &Path,
    f_max: f64,
    progress: &mut dyn LoadProgress,
) -> Result<GscFeatures> {
    let per = FRAMES * MELS;
    let mut features = Vec::with_capacity(split.files.len() * per);
    let mut log_mel = None;
    let mut started = false;
    for (k, files) in split.files.chunks(SHARD_CLIPS).enumerate() {
        let digest = stamp(&layout.root, files, f_max);
        let path = cache_dir.join(format!("gsc-{name}-fmax{f_max}-{k:04}.safetensors"));
        if let Some(cached) = read_shard(&path, &digest, files.len()) {
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
        let lm = log_mel.get_or_insert_with(|| LogMel::new(f_max));
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
            shape: vec![files.len(), FRAMES, MELS],
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
    Ok(GscFeatures {
        features,
        labels: split.labels.clone(),
    })
}
