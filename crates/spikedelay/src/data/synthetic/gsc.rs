//! A synthetic word set laid out exactly like Google Speech Commands v0.02, so the GSC pipeline
//! (folder scan → WAV decoding → resampling → log-mel → training) runs offline. Accuracy on it
//! says nothing about GSC.
//!
//! Each of the 35 words is a fixed sequence of three "syllables", each a pair of formant-like
//! tones gliding between word-specific frequencies, amplitude-modulated at the speaker's pitch.
//! A speaker scales all frequencies (±10 %) and the tempo (±10 %); each clip adds a random onset
//! and background noise. Speakers are split by a hash of their id into training, validation
//! (10 %) and testing (10 %), as GSC assigns speakers. Clips vary in format like real uploads:
//! most are 16 kHz 16-bit mono, some 22.05 kHz 16-bit mono, some 16 kHz 24-bit stereo.
//! `_background_noise_` holds one noise recording, which every reader must skip.

use std::path::Path;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use crate::atomic_file::write_atomic;
use crate::data::audio::source::GSC_WORDS;
use crate::data::audio::wav::{write_wav, write_wav_i16};
use crate::error::{Error, Result};

/// Parameters of the synthetic word set.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticGsc {
    /// Speakers; each says every word once.
    pub speakers: usize,
    /// Seed.
    pub seed: u64,
}

impl Default for SyntheticGsc {
    fn default() -> Self {
        SyntheticGsc {
            speakers: 40,
            seed: 0,
        }
    }
}

/// One syllable: formant pairs at start and end, duration.
#[derive(Debug, Clone, Copy)]
struct Syllable {
    f_start: [f64; 2],
    f_end: [f64; 2],
    ms: f64,
}

fn word_template(word: usize, seed: u64) -> [Syllable; 3] {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (0x776f_7264 + word as u64 * 7919));
    let mut f = |lo: f64, hi: f64| rng.random_range(lo..hi);
    std::array::from_fn(|_| Syllable {
        f_start: [f(300.0, 900.0), f(1000.0, 3200.0)],
        f_end: [f(300.0, 900.0), f(1000.0, 3200.0)],
        ms: f(90.0, 200.0),
    })
}

struct Speaker {
    id: String,
    scale: f64,
    tempo: f64,
    pitch: f64,
}

/// `x` on `channels` channels, channel `c` scaled by `1 − 0.2·c`.
fn write_clip(path: &Path, x: &[f64], rate: u32, channels: u16, bits: u16) -> Result<()> {
    let interleaved: Vec<f32> = x
        .iter()
        .flat_map(|&s| (0..channels).map(move |c| (s * (1.0 - 0.2 * c as f64)) as f32))
        .collect();
    write_wav(path, &interleaved, channels, rate, bits)
}

impl SyntheticGsc {
    fn speaker(&self, s: usize) -> Speaker {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ (0x7370_6b72 + s as u64 * 104_729));
        let hash = Sha256::digest(format!("synthetic-speaker-{}-{s}", self.seed));
        Speaker {
            id: hash[..4].iter().map(|b| format!("{b:02x}")).collect(),
            scale: rng.random_range(0.9..1.1),
            tempo: rng.random_range(0.9..1.1),
            pitch: rng.random_range(90.0..220.0),
        }
    }

    /// One clip of `word` by `speaker`, at `rate` Hz.
    fn clip(&self, word: usize, sp: &Speaker, rng: &mut ChaCha8Rng, rate: f64) -> Vec<f64> {
        let template = word_template(word, self.seed);
        let n = rate as usize; // 1 s
        let mut x: Vec<f64> = (0..n).map(|_| 0.01 * rng.random_range(-1.0..1.0)).collect();
        let mut t0 = rng.random_range(0.02..0.25);
        let mut phase = [0.0f64; 2];
        for syl in &template {
            let len = syl.ms / 1000.0 * sp.tempo;
            let (start, end) = ((t0 * rate) as usize, ((t0 + len) * rate) as usize);
            for (i, xi) in x.iter_mut().enumerate().take(end.min(n)).skip(start) {
                let u = (i - start) as f64 / (end - start).max(1) as f64;
                let env = (std::f64::consts::PI * u).sin();
                let t = i as f64 / rate;
                let am = 0.6 + 0.4 * (2.0 * std::f64::consts::PI * sp.pitch * t).sin();
                let mut s = 0.0;
                for (k, p) in phase.iter_mut().enumerate() {
                    let f = sp.scale * (syl.f_start[k] + u * (syl.f_end[k] - syl.f_start[k]));
                    *p += 2.0 * std::f64::consts::PI * f / rate;
                    s += if k == 0 { 0.5 } else { 0.3 } * p.sin();
                }
                *xi += 0.5 * env * am * s;
            }
            t0 += len + 0.03 * sp.tempo;
        }
        x
    }

    /// Writes the word folders, `_background_noise_`, `validation_list.txt` and
    /// `testing_list.txt` into `root`; returns the number of clips.
    pub fn write(&self, root: &Path) -> Result<usize> {
        if self.speakers < 3 {
            return Err(Error::config(
                "speakers",
                format!("needs at least 3 (one per split), got {}", self.speakers),
            ));
        }
        let mkdir = |p: &Path| {
            std::fs::create_dir_all(p).map_err(|source| Error::Io {
                action: "creating",
                path: p.to_path_buf(),
                source,
            })
        };
        let speakers: Vec<Speaker> = (0..self.speakers).map(|s| self.speaker(s)).collect();
        // Split by hash rank: the lowest 10 % of ids (at least one) validate, the next test.
        let mut ranked: Vec<&str> = speakers.iter().map(|s| s.id.as_str()).collect();
        ranked.sort_unstable();
        let k = (self.speakers / 10).max(1);
        let (valid, test) = (&ranked[..k], &ranked[k..2 * k]);
        let (mut valid_list, mut test_list) = (String::new(), String::new());
        let mut clips = 0;
        for (w, word) in GSC_WORDS.iter().enumerate() {
            let dir = root.join(word);
            mkdir(&dir)?;
            for (s, sp) in speakers.iter().enumerate() {
                let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ ((w as u64) << 32 | s as u64));
                let (rate, channels, bits) = match s % 4 {
                    1 => (22_050, 1, 16),
                    3 => (16_000, 2, 24),
                    _ => (16_000, 1, 16),
                };
                let x = self.clip(w, sp, &mut rng, rate as f64);
                let rel = format!("{word}/{}_nohash_0.wav", sp.id);
                write_clip(&root.join(&rel), &x, rate, channels, bits)?;
                if valid.contains(&sp.id.as_str()) {
                    valid_list.push_str(&rel);
                    valid_list.push('\n');
                } else if test.contains(&sp.id.as_str()) {
                    test_list.push_str(&rel);
                    test_list.push('\n');
                }
                clips += 1;
            }
        }
        let noise_dir = root.join("_background_noise_");
        mkdir(&noise_dir)?;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x006e_6f69_7365);
        let noise: Vec<f32> = (0..16_000)
            .map(|_| 0.1 * rng.random_range(-1.0f32..1.0))
            .collect();
        write_wav_i16(&noise_dir.join("white_noise.wav"), &noise, 16_000)?;
        write_atomic(&root.join("validation_list.txt"), valid_list.as_bytes())?;
        write_atomic(&root.join("testing_list.txt"), test_list.as_bytes())?;
        Ok(clips)
    }
}
