//! A folder of WAV clips, one subfolder per class (docs/datasets.md §2.1), split into training,
//! validation and testing:
//!
//! - by `validation_list.txt` and `testing_list.txt` when the folder has them (GSC's lists:
//!   one `class/clip.wav` per line; training is every other clip, sorted by path);
//! - otherwise by GSC's hash-of-speaker rule: a clip's speaker is its file name up to
//!   `_nohash_`, and the SHA-1 of the speaker puts all of a speaker's clips in one split.
//!
//! Classes are the configured list, else the lines of `classes.txt`, else the subfolder names
//! sorted. Folders whose names start with `_` or `.` (GSC's `_background_noise_`) are skipped.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};

use crate::error::{Error, Result};

/// One split: clip paths relative to the root, and their classes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AudioSplit {
    /// Relative paths, `class/clip.wav`.
    pub files: Vec<String>,
    /// Class per clip.
    pub labels: Vec<u32>,
}

/// How a folder's clips were split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SplitRule {
    /// By `validation_list.txt` and `testing_list.txt`.
    Lists,
    /// By the hash of each clip's speaker, these percentages to validation and testing.
    SpeakerHash {
        /// Percent of speakers for validation.
        valid_percent: f64,
        /// Percent of speakers for testing.
        test_percent: f64,
    },
}

/// A scanned folder.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioLayout {
    /// The folder.
    pub root: PathBuf,
    /// Class names; a clip's label is its folder's index here.
    pub classes: Vec<String>,
    /// How the splits were made.
    pub rule: SplitRule,
    /// Training clips.
    pub training: AudioSplit,
    /// Validation clips.
    pub validation: AudioSplit,
    /// Test clips.
    pub testing: AudioSplit,
}

const LISTS: [&str; 2] = ["validation_list.txt", "testing_list.txt"];

fn skipped(name: &str) -> bool {
    name.starts_with('_') || name.starts_with('.')
}

fn is_clip(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".wav")
}

fn read_lines(path: &Path, what: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::data(path, format!("cannot read {what} ({e})")))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.trim_start_matches("./").to_string())
        .collect())
}

/// A clip's speaker in GSC's naming: its file name up to `_nohash_`, if it has one.
pub fn speaker_of(file_name: &str) -> Option<&str> {
    file_name.find("_nohash_").map(|k| &file_name[..k])
}

/// GSC's split of a clip by its speaker (TensorFlow's `which_set`): the SHA-1 of the file name
/// up to `_nohash_`, modulo 2²⁷, as a percentage.
pub fn speaker_percentage(file_name: &str) -> f64 {
    const MAX_CLIPS: u64 = (1 << 27) - 1;
    let speaker = speaker_of(file_name).unwrap_or(file_name);
    let digest = Sha1::digest(speaker.as_bytes());
    // The digest as a big integer modulo 2^27: its last four bytes suffice.
    let tail = u32::from_be_bytes([digest[16], digest[17], digest[18], digest[19]]) as u64;
    (tail % (MAX_CLIPS + 1)) as f64 * (100.0 / MAX_CLIPS as f64)
}

impl AudioLayout {
    /// Scans `root` with the given class list (or `classes.txt`, or the sorted subfolders) and
    /// split percentages (used only without list files). Errors name the folder, list file
    /// and line, or clip at fault.
    pub fn scan(
        root: &Path,
        classes: Option<&[String]>,
        valid_percent: f64,
        test_percent: f64,
    ) -> Result<Self> {
        if !root.is_dir() {
            return Err(Error::NotFound {
                path: root.to_path_buf(),
                what: "a folder of WAV clips with one subfolder per class".into(),
            });
        }
        let mut folders = Vec::new();
        let entries = std::fs::read_dir(root).map_err(|source| Error::Io {
            action: "listing",
            path: root.to_path_buf(),
            source,
        })?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() && !skipped(&name) {
                folders.push(name);
            }
        }
        folders.sort();
        let classes: Vec<String> = match classes {
            Some(c) => c.to_vec(),
            None if root.join("classes.txt").is_file() => {
                read_lines(&root.join("classes.txt"), "the class list")?
            }
            None => folders.clone(),
        };
        if classes.is_empty() {
            return Err(Error::data(root, "holds no class folders"));
        }
        let label_of = |rel: &str, source: &str| -> Result<u32> {
            let class = rel.split('/').next().unwrap_or("");
            classes
                .iter()
                .position(|c| c == class)
                .map(|i| i as u32)
                .ok_or_else(|| {
                    Error::data(
                        root,
                        format!("{source}: `{rel}` is in folder `{class}`, which is not a class"),
                    )
                })
        };
        // Every clip of every class folder, sorted by path.
        let mut clips = Vec::new();
        for folder in &folders {
            let mut found = Vec::new();
            for f in std::fs::read_dir(root.join(folder))
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = f.file_name().to_string_lossy().into_owned();
                if is_clip(&name) && f.path().is_file() {
                    found.push(format!("{folder}/{name}"));
                }
            }
            if !found.is_empty() {
                label_of(&found[0], "clip")?;
            }
            clips.extend(found);
        }
        clips.sort();
        for class in &classes {
            let prefix = format!("{class}/");
            if !clips.iter().any(|c| c.starts_with(&prefix)) {
                let path = root.join(class);
                return Err(if path.is_dir() {
                    Error::data(&path, "class folder holds no .wav clips")
                } else {
                    Error::NotFound {
                        path,
                        what: format!("the folder of class `{class}`"),
                    }
                });
            }
        }
        let split_of = |files: Vec<String>, source: &str| -> Result<AudioSplit> {
            let labels = files
                .iter()
                .enumerate()
                .map(|(line, f)| label_of(f, &format!("{source} line {}", line + 1)))
                .collect::<Result<_>>()?;
            Ok(AudioSplit { files, labels })
        };
        let has_lists = LISTS.iter().any(|l| root.join(l).is_file());
        let (rule, validation, testing, training) = if has_lists {
            let mut lists = Vec::new();
            for name in LISTS {
                let path = root.join(name);
                if !path.is_file() {
                    return Err(Error::NotFound {
                        path,
                        what: format!(
                            "the split list beside {} (a folder with split lists has both)",
                            LISTS.iter().find(|l| **l != name).expect("two lists")
                        ),
                    });
                }
                let files = read_lines(&path, "the split list")?;
                for (line, f) in files.iter().enumerate() {
                    let class = f.split('/').next().unwrap_or("");
                    if !root.join(class).is_dir() {
                        return Err(Error::data(
                            root,
                            format!(
                                "{name} line {}: `{f}` names class folder `{class}`, which does \
                                 not exist",
                                line + 1
                            ),
                        ));
                    }
                    if !root.join(f).is_file() {
                        return Err(Error::data(
                            root,
                            format!("{name} line {}: `{f}` does not exist", line + 1),
                        ));
                    }
                }
                lists.push(split_of(files, name)?);
            }
            let testing = lists.pop().expect("two lists");
            let validation = lists.pop().expect("two lists");
            let listed: HashSet<&String> = validation.files.iter().chain(&testing.files).collect();
            let rest: Vec<String> = clips
                .iter()
                .filter(|c| !listed.contains(c))
                .cloned()
                .collect();
            (
                SplitRule::Lists,
                validation,
                testing,
                split_of(rest, "clip")?,
            )
        } else {
            let (mut va, mut te, mut tr) = (Vec::new(), Vec::new(), Vec::new());
            for c in clips {
                let name = c.rsplit('/').next().unwrap_or(&c);
                let p = speaker_percentage(name);
                if p < valid_percent {
                    va.push(c);
                } else if p < valid_percent + test_percent {
                    te.push(c);
                } else {
                    tr.push(c);
                }
            }
            let rule = SplitRule::SpeakerHash {
                valid_percent,
                test_percent,
            };
            (
                rule,
                split_of(va, "clip")?,
                split_of(te, "clip")?,
                split_of(tr, "clip")?,
            )
        };
        Ok(AudioLayout {
            root: root.to_path_buf(),
            classes,
            rule,
            training,
            validation,
            testing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speaker_hash_matches_tensorflow() {
        // Values from TensorFlow's `which_set` arithmetic in Python (hashlib.sha1, int(.., 16)
        // % 2**27 * (100 / (2**27 − 1))).
        for (name, expected) in [
            ("0a7c2a8d_nohash_0.wav", 56.836387193474074),
            ("3cfc6b3a_nohash_2.wav", 54.436069387466226),
            ("ffd2ba2f_nohash_4.wav", 55.30171137527906),
            ("speaker7.wav", 76.08592268888594),
        ] {
            assert!((speaker_percentage(name) - expected).abs() < 1e-9, "{name}");
        }
        assert_eq!(
            speaker_percentage("0a7c2a8d_nohash_0.wav"),
            speaker_percentage("0a7c2a8d_nohash_3.wav")
        );
    }
}
