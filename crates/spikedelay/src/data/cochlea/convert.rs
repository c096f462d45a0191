//! Audio to SHD-format spike files (`spikedelay data cochlea`, docs/cochlea.md §6): a folder of
//! class subfolders (split as the `audio-folder` kind splits it: list files or speaker
//! percentages) or single WAV files, through the ear model, into `train.h5`, `valid.h5` and
//! `test.h5` (or `spikes.h5` for single files) that the `spike-file` kind and h5py read.
//!
//! Clip k, counting training, validation, then test clips in order, is drawn with seed
//! `seed + k` (for the `exact` sampler: `np.random.seed(seed + k)` in `lauscher`). Work is kept
//! in `OUT/.cochlea-partial/` as chunks of clips, each written atomically, so a killed
//! conversion resumes where it stopped; the split files are written (atomically) at the end.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{ClipSpikes, Cochlea, CochleaParams, Sampler};
use crate::atomic_file::write_atomic;
use crate::data::audio::folder::AudioLayout;
use crate::data::audio::resample::{SincResampler, gcd};
use crate::data::audio::wav::read_wav;
use crate::data::progress::LoadProgress;
use crate::data::spikes::file::{SpikeFile, SpikeSample, TimeWidth};
use crate::data::spikes::writer::{SpikeFileContents, SpikeFileTypes, write_spike_file};
use crate::error::{Error, Result};

/// Clips per resumable chunk.
const CHUNK: usize = 32;
/// Largest resampling ratio numerator/denominator (reduced) the sinc resampler accepts.
const MAX_RESAMPLE_PHASES: usize = 4096;

/// What a conversion does besides its input and output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CochleaSettings {
    /// The model.
    pub params: CochleaParams,
    /// Resample every clip to this rate first (Hz); `None` keeps each file's rate.
    pub rate: Option<usize>,
    /// Base seed (clip k uses `seed + k`).
    pub seed: u64,
    /// Fibre sampler.
    pub sampler: Sampler,
    /// Output names: `{prefix}_train.h5`, … (`None`: `train.h5`, …).
    pub prefix: Option<String>,
}

impl Default for CochleaSettings {
    fn default() -> Self {
        CochleaSettings {
            params: CochleaParams::default(),
            rate: None,
            seed: 0,
            sampler: Sampler::Fast,
            prefix: None,
        }
    }
}

/// The audio to convert.
#[derive(Debug, Clone, PartialEq)]
pub enum AudioInput {
    /// A folder of class subfolders, split as `audio-folder` splits it.
    Folder {
        /// The folder.
        root: PathBuf,
        /// Percent of speakers for validation without list files.
        valid_percent: f64,
        /// Percent of speakers for testing without list files.
        test_percent: f64,
    },
    /// WAV files, one sample each (label 0), into one file `spikes.h5`.
    Files(Vec<PathBuf>),
}

/// One output file's clips.
struct Split {
    name: &'static str,
    files: Vec<PathBuf>,
    labels: Vec<u32>,
}

/// What a finished conversion wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CochleaSummary {
    /// Files written, with their sample and spike counts.
    pub files: Vec<(PathBuf, usize, usize)>,
    /// Class names.
    pub keys: Vec<String>,
    /// The settings used.
    pub settings: CochleaSettings,
}

/// Reads `path`, mixes it to mono, resamples to `rate` when given, and runs the model.
pub fn wav_spikes(
    cochlea: &Cochlea,
    path: &Path,
    rate: Option<usize>,
    seed: u64,
    sampler: Sampler,
) -> Result<ClipSpikes> {
    let audio = read_wav(path)?;
    let (samples, fs) = match rate {
        Some(r) if r != audio.sample_rate => {
            (resample(&audio.samples, audio.sample_rate, r, path)?, r)
        }
        _ => (audio.samples, audio.sample_rate),
    };
    let wave: Vec<f64> = samples.iter().map(|&v| v as f64).collect();
    cochlea
        .spikes(&wave, fs, seed, sampler)
        .map_err(|e| Error::data(path, e.to_string()))
}

fn resample(x: &[f32], from: usize, to: usize, path: &Path) -> Result<Vec<f32>> {
    let g = gcd(from, to);
    if to / g > MAX_RESAMPLE_PHASES || from / g > MAX_RESAMPLE_PHASES {
        return Err(Error::data(
            path,
            format!(
                "cannot resample {from} Hz to {to} Hz: the rates' ratio {}/{} is too fine (at most {MAX_RESAMPLE_PHASES} on either side)",
                to / g,
                from / g
            ),
        ));
    }
    Ok(SincResampler::new(from, to).apply(x))
}

fn speaker_of(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy();
    crate::data::audio::folder::speaker_of(&name).map(str::to_string)
}

fn splits_of(input: &AudioInput) -> Result<(Vec<Split>, Vec<String>)> {
    match input {
        AudioInput::Folder {
            root,
            valid_percent,
            test_percent,
        } => {
            let layout = AudioLayout::scan(root, None, *valid_percent, *test_percent)?;
            let split = |name, s: &crate::data::audio::folder::AudioSplit| Split {
                name,
                files: s.files.iter().map(|f| root.join(f)).collect(),
                labels: s.labels.clone(),
            };
            let all = vec![
                split("train", &layout.training),
                split("valid", &layout.validation),
                split("test", &layout.testing),
            ];
            Ok((
                all.into_iter().filter(|s| !s.files.is_empty()).collect(),
                layout.classes,
            ))
        }
        AudioInput::Files(files) => {
            if files.is_empty() {
                return Err(Error::config("AUDIO", "no audio files given"));
            }
            for f in files {
                if !f.is_file() {
                    return Err(Error::NotFound {
                        path: f.clone(),
                        what: "a WAV file".into(),
                    });
                }
            }
            Ok((
                vec![Split {
                    name: "spikes",
                    files: files.clone(),
                    labels: vec![0; files.len()],
                }],
                vec!["audio".into()],
            ))
        }
    }
}

fn file_name(settings: &CochleaSettings, split: &str) -> String {
    match &settings.prefix {
        Some(p) => format!("{p}_{split}.h5"),
        None => format!("{split}.h5"),
    }
}

/// The identity of a conversion: settings and the clip list, so a resumed run is the same one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Manifest {
    settings: CochleaSettings,
    clips: Vec<(String, Vec<String>)>,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

/// Converts `input` into spike files in `out` (created), resuming a killed conversion of the
/// same input and settings. `progress` counts clips; `should_stop` is asked between chunks (a
/// stop leaves the finished chunks for the next run, as a kill does).
pub fn convert(
    input: &AudioInput,
    out: &Path,
    settings: &CochleaSettings,
    progress: &mut dyn LoadProgress,
    should_stop: &dyn Fn() -> bool,
) -> Result<CochleaSummary> {
    let cochlea = Cochlea::new(settings.params)?;
    if let Some(r) = settings.rate {
        Cochlea::check_rate(r)?;
    }
    if settings.sampler == Sampler::Exact && settings.seed > u32::MAX as u64 {
        return Err(Error::config(
            "seed",
            "the exact sampler takes NumPy seeds below 2^32",
        ));
    }
    let (splits, keys) = splits_of(input)?;
    let manifest = Manifest {
        settings: settings.clone(),
        clips: splits
            .iter()
            .map(|s| {
                (
                    s.name.to_string(),
                    s.files.iter().map(|f| f.display().to_string()).collect(),
                )
            })
            .collect(),
    };
    std::fs::create_dir_all(out).map_err(io("creating", out))?;
    let work = out.join(".cochlea-partial");
    let manifest_path = work.join("manifest.json");
    let manifest_json = serde_json::to_string_pretty(&manifest).expect("plain data");
    if manifest_path.is_file() {
        let old = std::fs::read_to_string(&manifest_path).map_err(io("reading", &manifest_path))?;
        if old != manifest_json {
            return Err(Error::run_folder(
                out,
                format!(
                    "holds a partial conversion of other audio or settings ({}); convert into another folder or remove it",
                    work.display()
                ),
            ));
        }
    } else {
        std::fs::create_dir_all(&work).map_err(io("creating", &work))?;
        write_atomic(&manifest_path, manifest_json.as_bytes())?;
    }
    let total: usize = splits.iter().map(|s| s.files.len()).sum();
    progress.start("cochlea", total);
    let mut first_clip = 0u64;
    let mut written = Vec::new();
    for split in &splits {
        let chunks: Vec<PathBuf> = (0..split.files.len().div_ceil(CHUNK))
            .map(|c| work.join(format!("{}-{c:05}.h5", split.name)))
            .collect();
        for (c, chunk_path) in chunks.iter().enumerate() {
            let range = c * CHUNK..((c + 1) * CHUNK).min(split.files.len());
            if !chunk_path.is_file() {
                if should_stop() {
                    return Err(Error::run_folder(
                        out,
                        "conversion stopped; the same command resumes it from its last finished chunk",
                    ));
                }
                let samples: Vec<SpikeSample> = range
                    .clone()
                    .into_par_iter()
                    .map(|i| {
                        let seed = settings.seed + first_clip + i as u64;
                        wav_spikes(
                            &cochlea,
                            &split.files[i],
                            settings.rate,
                            seed,
                            settings.sampler,
                        )
                    })
                    .collect::<Result<_>>()?;
                let contents = SpikeFileContents {
                    samples,
                    labels: split.labels[range.clone()].to_vec(),
                    speakers: vec![0; range.len()],
                    keys: keys.clone(),
                    meta_info: None,
                };
                let types = SpikeFileTypes {
                    times: TimeWidth::F64,
                    ..SpikeFileTypes::PUBLISHED
                };
                write_spike_file(chunk_path, &contents, types)?;
            }
            progress.advance(range.len());
        }
        first_clip += split.files.len() as u64;
        // Assemble the split from its chunks.
        let mut contents = SpikeFileContents {
            keys: keys.clone(),
            ..Default::default()
        };
        for chunk_path in &chunks {
            let file = SpikeFile::open(chunk_path)?;
            for i in 0..file.len() {
                contents.samples.push(file.sample(i)?);
            }
            contents.labels.extend(&file.labels);
        }
        let mut speaker_names: Vec<String> =
            split.files.iter().filter_map(|f| speaker_of(f)).collect();
        speaker_names.sort();
        speaker_names.dedup();
        contents.speakers = split
            .files
            .iter()
            .map(|f| {
                speaker_of(f)
                    .and_then(|s| speaker_names.binary_search(&s).ok())
                    .unwrap_or(0) as u32
            })
            .collect();
        let target = out.join(file_name(settings, split.name));
        write_spike_file(&target, &contents, SpikeFileTypes::PUBLISHED)?;
        let spikes = contents.samples.iter().map(|s| s.times.len()).sum();
        written.push((target, contents.samples.len(), spikes));
    }
    progress.finish();
    let summary = CochleaSummary {
        files: written,
        keys,
        settings: settings.clone(),
    };
    write_atomic(
        &out.join("cochlea.json"),
        serde_json::to_string_pretty(&summary)
            .expect("plain data")
            .as_bytes(),
    )?;
    std::fs::remove_dir_all(&work).map_err(io("removing", &work))?;
    Ok(summary)
}
