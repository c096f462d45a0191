//! `spikedelay data inspect`: what a data file or folder holds, and anything malformed in it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::audio::folder::{AudioLayout, SplitRule};
use super::spikes::file::{SpikeFile, TimeWidth};
use crate::error::Result;

/// At most this many problems are listed (all are counted).
const LISTED_PROBLEMS: usize = 20;

/// Minimum, median and maximum of a list.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Spread {
    /// Smallest.
    pub min: f64,
    /// Median.
    pub median: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Self {
        if v.is_empty() {
            return Spread::default();
        }
        v.sort_by(f64::total_cmp);
        Spread {
            min: v[0],
            median: v[v.len() / 2],
            max: v[v.len() - 1],
        }
    }
}

/// Summary of a spike file.
#[derive(Debug, Clone, PartialEq)]
pub struct SpikeFileReport {
    /// The file.
    pub path: PathBuf,
    /// Samples.
    pub samples: usize,
    /// Storage width of times.
    pub time_width: TimeWidth,
    /// `(label, key, samples)` per class.
    pub classes: Vec<(u32, String, usize)>,
    /// Spikes per sample.
    pub spikes: Spread,
    /// Total spikes.
    pub total_spikes: u64,
    /// Samples without spikes.
    pub empty_samples: usize,
    /// First and last spike time over the file, seconds.
    pub time_span: (f64, f64),
    /// Duration (last spike time) per sample, seconds.
    pub duration: Spread,
    /// Smallest and largest unit id.
    pub unit_range: (u32, u32),
    /// Samples per speaker id.
    pub speakers: BTreeMap<u32, usize>,
    /// Malformed samples or labels (the first few, each naming sample and field).
    pub problems: Vec<String>,
    /// Number of problems found.
    pub problem_count: usize,
}

/// Reads every sample of a spike file and summarises it; per-sample problems are collected,
/// not fatal (an unreadable file still is).
pub fn inspect_spike_file(path: &Path) -> Result<SpikeFileReport> {
    let file = SpikeFile::open(path)?;
    let mut problems = Vec::new();
    let (mut spikes, mut duration) = (Vec::new(), Vec::new());
    let (mut t_min, mut t_max) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut u_min, mut u_max) = (u32::MAX, 0);
    let (mut total, mut empty) = (0u64, 0usize);
    let idx: Vec<usize> = (0..file.len()).collect();
    // In chunks, keeping only per-sample statistics (SSC's spikes do not fit in memory as f64).
    for chunk in idx.chunks(1024) {
        let stats: Vec<_> = chunk
            .par_iter()
            .map(|&i| {
                file.sample(i).map(|s| {
                    let first_last = s.times.first().zip(s.times.last());
                    let units = s.units.iter().copied();
                    let range = units.clone().min().zip(units.max());
                    (s.times.len(), first_last.map(|(a, b)| (*a, *b)), range)
                })
            })
            .collect();
        for r in stats {
            match r {
                Ok((n, first_last, range)) => {
                    spikes.push(n as f64);
                    total += n as u64;
                    match first_last {
                        Some((a, b)) => {
                            t_min = t_min.min(a);
                            t_max = t_max.max(b);
                            duration.push(b);
                        }
                        None => empty += 1,
                    }
                    if let Some((lo, hi)) = range {
                        u_min = u_min.min(lo);
                        u_max = u_max.max(hi);
                    }
                }
                Err(e) => problems.push(e.to_string()),
            }
        }
    }
    let classes_n = file.classes();
    if file.keys.is_empty() {
        problems.push(format!("{}: no `extra/keys` dataset", path.display()));
    }
    if file.speakers.is_none() {
        problems.push(format!("{}: no `extra/speaker` dataset", path.display()));
    }
    if !file.keys.is_empty()
        && let Err(e) = file.check_labels(file.keys.len())
    {
        problems.push(e.to_string());
    }
    let most = file.labels.iter().max().map_or(0, |&m| m as usize + 1);
    let mut counts = vec![0usize; classes_n.max(most)];
    file.labels.iter().for_each(|&l| counts[l as usize] += 1);
    let classes = counts
        .iter()
        .enumerate()
        .map(|(c, &n)| {
            let key = file.keys.get(c).cloned().unwrap_or_else(|| "?".into());
            (c as u32, key, n)
        })
        .collect();
    let mut speakers = BTreeMap::new();
    for &s in file.speakers.iter().flatten() {
        *speakers.entry(s).or_insert(0) += 1;
    }
    let problem_count = problems.len();
    problems.truncate(LISTED_PROBLEMS);
    Ok(SpikeFileReport {
        path: path.to_path_buf(),
        samples: file.len(),
        time_width: file.time_width,
        classes,
        spikes: Spread::of(spikes),
        total_spikes: total,
        empty_samples: empty,
        time_span: if total > 0 {
            (t_min, t_max)
        } else {
            (0.0, 0.0)
        },
        duration: Spread::of(duration),
        unit_range: if total > 0 { (u_min, u_max) } else { (0, 0) },
        speakers,
        problems,
        problem_count,
    })
}

impl SpikeFileReport {
    /// The report as JSON (the same fields; `problems` lists the first few, `problem_count`
    /// counts all).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": "spike-file",
            "path": self.path.display().to_string(),
            "samples": self.samples,
            "time_width": format!("{:?}", self.time_width),
            "classes": self.classes.iter().map(|(c, key, n)| serde_json::json!({
                "label": c, "key": key, "samples": n
            })).collect::<Vec<_>>(),
            "spikes_per_sample": spread_json(&self.spikes),
            "total_spikes": self.total_spikes,
            "empty_samples": self.empty_samples,
            "time_span_s": [self.time_span.0, self.time_span.1],
            "last_spike_s": spread_json(&self.duration),
            "unit_range": [self.unit_range.0, self.unit_range.1],
            "speakers": self.speakers.iter().map(|(s, n)| (s.to_string(), serde_json::json!(n)))
                .collect::<serde_json::Map<_, _>>(),
            "problems": self.problems,
            "problem_count": self.problem_count,
        })
    }
}

fn spread_json(s: &Spread) -> serde_json::Value {
    serde_json::json!({ "min": s.min, "median": s.median, "max": s.max })
}

impl fmt::Display for SpikeFileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.path.display())?;
        writeln!(
            f,
            "  samples        {} ({} without spikes); times stored as {:?}",
            self.samples, self.empty_samples, self.time_width
        )?;
        writeln!(
            f,
            "  spikes/sample  min {} · median {} · max {} (total {})",
            self.spikes.min, self.spikes.median, self.spikes.max, self.total_spikes
        )?;
        writeln!(
            f,
            "  time span      {:.4} s .. {:.4} s; last spike per sample: min {:.3} · median {:.3} · max {:.3} s",
            self.time_span.0,
            self.time_span.1,
            self.duration.min,
            self.duration.median,
            self.duration.max
        )?;
        writeln!(
            f,
            "  units          {} .. {}",
            self.unit_range.0, self.unit_range.1
        )?;
        writeln!(f, "  classes        {}", self.classes.len())?;
        for (c, key, n) in &self.classes {
            writeln!(f, "    {c:>3} {key:<10} {n}")?;
        }
        let sp: Vec<String> = self
            .speakers
            .iter()
            .map(|(s, n)| format!("{s}:{n}"))
            .collect();
        writeln!(f, "  speakers       {}", sp.join(" "))?;
        writeln!(f, "  problems       {}", self.problem_count)?;
        for p in &self.problems {
            writeln!(f, "    {p}")?;
        }
        Ok(())
    }
}

/// Summary of an audio folder.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioFolderReport {
    /// The folder.
    pub root: PathBuf,
    /// Class names.
    pub classes: Vec<String>,
    /// How the clips are split.
    pub rule: SplitRule,
    /// `(split, clips per class)`.
    pub splits: Vec<(&'static str, Vec<usize>)>,
    /// Clip durations, seconds.
    pub duration: Spread,
    /// Clips per `(sample rate, channels, bits)`.
    pub formats: BTreeMap<(u32, u16, u16), usize>,
    /// Unreadable clips (the first few).
    pub problems: Vec<String>,
    /// Number of problems.
    pub problem_count: usize,
}

/// Scans an audio folder (classes from `classes.txt` or the sorted subfolders; GSC's hash rule
/// at 10 % / 10 % where it has no split lists) and reads every clip's WAV header.
pub fn inspect_audio_folder(root: &Path) -> Result<AudioFolderReport> {
    let layout = AudioLayout::scan(root, None, 10.0, 10.0)?;
    let splits = [
        ("training", &layout.training),
        ("validation", &layout.validation),
        ("testing", &layout.testing),
    ];
    let all: Vec<&String> = splits.iter().flat_map(|(_, s)| &s.files).collect();
    let headers: Vec<_> = all
        .par_iter()
        .map(|f| {
            let p = root.join(f);
            hound::WavReader::open(&p)
                .map(|r| (r.spec(), r.duration()))
                .map_err(|e| format!("{}: not a readable WAV file ({e})", p.display()))
        })
        .collect();
    let (mut durations, mut formats, mut problems) = (Vec::new(), BTreeMap::new(), Vec::new());
    for h in headers {
        match h {
            Ok((spec, frames)) => {
                durations.push(frames as f64 / spec.sample_rate.max(1) as f64);
                *formats
                    .entry((spec.sample_rate, spec.channels, spec.bits_per_sample))
                    .or_insert(0) += 1;
            }
            Err(e) => problems.push(e),
        }
    }
    // A split without clips cannot train (`train` refuses it): say so here, with the fix.
    for (name, split) in &splits {
        if split.files.is_empty() {
            let fix = match (layout.rule, *name) {
                (SplitRule::Lists, "training") => {
                    "every clip is named by validation_list.txt or testing_list.txt; list fewer"
                        .to_string()
                }
                (SplitRule::Lists, list) => format!(
                    "{list}_list.txt names no clip of the folder; list clips there (one \
                     `word/file.wav` per line), or remove both list files to split by GSC's \
                     speaker hash"
                ),
                _ => "no speaker hashes into it; add clips of more speakers".to_string(),
            };
            problems.insert(0, format!("the {name} split is empty: {fix}"));
        }
    }
    let problem_count = problems.len();
    problems.truncate(LISTED_PROBLEMS);
    Ok(AudioFolderReport {
        root: root.to_path_buf(),
        classes: layout.classes.clone(),
        rule: layout.rule,
        splits: splits
            .iter()
            .map(|(name, s)| {
                let mut counts = vec![0; layout.classes.len()];
                s.labels.iter().for_each(|&l| counts[l as usize] += 1);
                (*name, counts)
            })
            .collect(),
        duration: Spread::of(durations),
        formats,
        problems,
        problem_count,
    })
}

impl AudioFolderReport {
    /// The report as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let rule = match self.rule {
            SplitRule::Lists => serde_json::json!({ "by": "lists" }),
            SplitRule::SpeakerHash {
                valid_percent,
                test_percent,
            } => serde_json::json!({
                "by": "speaker-hash", "valid_percent": valid_percent, "test_percent": test_percent
            }),
        };
        serde_json::json!({
            "kind": "audio-folder",
            "path": self.root.display().to_string(),
            "classes": self.classes,
            "split_rule": rule,
            "splits": self.splits.iter().map(|(name, counts)| (name.to_string(), serde_json::json!({
                "clips": counts.iter().sum::<usize>(), "per_class": counts
            }))).collect::<serde_json::Map<_, _>>(),
            "duration_s": spread_json(&self.duration),
            "formats": self.formats.iter().map(|((rate, ch, bits), n)| serde_json::json!({
                "sample_rate": rate, "channels": ch, "bits": bits, "clips": n
            })).collect::<Vec<_>>(),
            "problems": self.problems,
            "problem_count": self.problem_count,
        })
    }
}

impl fmt::Display for AudioFolderReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = match self.rule {
            SplitRule::Lists => "split by validation_list.txt and testing_list.txt".to_string(),
            SplitRule::SpeakerHash {
                valid_percent,
                test_percent,
            } => format!(
                "no split lists: split by speaker hash, {valid_percent}% validation, \
                 {test_percent}% testing"
            ),
        };
        writeln!(f, "{} (audio folder, {rule})", self.root.display())?;
        for (name, counts) in &self.splits {
            writeln!(f, "  {name:<10} {} clips", counts.iter().sum::<usize>())?;
        }
        writeln!(
            f,
            "  duration   min {:.3} · median {:.3} · max {:.3} s",
            self.duration.min, self.duration.median, self.duration.max
        )?;
        for ((rate, ch, bits), n) in &self.formats {
            writeln!(
                f,
                "  format     {rate} Hz, {ch} channel(s), {bits} bit: {n} clips"
            )?;
        }
        writeln!(
            f,
            "  classes    {} (training / validation / testing)",
            self.classes.len()
        )?;
        for (c, word) in self.classes.iter().enumerate() {
            let n: Vec<String> = self.splits.iter().map(|(_, v)| v[c].to_string()).collect();
            writeln!(f, "    {c:>3} {word:<10} {}", n.join(" / "))?;
        }
        writeln!(f, "  problems   {}", self.problem_count)?;
        for p in &self.problems {
            writeln!(f, "    {p}")?;
        }
        Ok(())
    }
}
