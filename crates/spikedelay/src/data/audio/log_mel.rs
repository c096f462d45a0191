//! The reference's GSC features (docs/datasets.md §2.3): pad/crop the clip (1 s for GSC) at
//! 16 kHz, resample to 8 kHz, power STFT (`n_fft` 256, hop 80, periodic Hann, centred with
//! reflect padding), HTK mel filterbank with 140 bins from 50 Hz to `f_max`,
//! `10·log10(max(M, 1e-10))`; `(frames, 140)` time-major, 101 frames for 1 s.
//!
//! `f_max` is 14 kHz as in the reference although the Nyquist frequency is 4 kHz, so filters
//! 87..139 are empty and those channels are a constant −100 dB; `f_max = 4000` is the corrected
//! variant.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

use super::resample::SincResampler;

/// Rate clips are brought to before feature extraction, Hz.
pub const INPUT_RATE: usize = 16_000;
/// Samples of a GSC clip (1 s at 16 kHz).
pub const CLIP_SAMPLES: usize = 16_000;
/// Frames of a GSC clip.
pub const FRAMES: usize = 101;
/// Mel bins.
pub const MELS: usize = 140;
/// The reference's `f_max` (Hz).
pub const REFERENCE_F_MAX: f64 = 14_000.0;
/// Lower edge of the mel filterbank (Hz).
pub const F_MIN: f64 = 50.0;

const N_FFT: usize = 256;
const HOP: usize = 80;
const RATE: usize = 8_000;
const BINS: usize = N_FFT / 2 + 1;

/// Frames of a clip of `clip_samples` samples at 16 kHz: `1 + ⌈clip/2⌉ // hop` (centred STFT
/// of the 8 kHz signal).
pub fn frames_for(clip_samples: usize) -> usize {
    1 + clip_samples.div_ceil(INPUT_RATE / RATE) / HOP
}

/// The feature pipeline in words (for `summary.json`).
pub fn describe(f_max: f64) -> String {
    format!(
        "log-mel: {} kHz → {} kHz, n_fft {N_FFT}, hop {HOP}, {MELS} HTK mel bins {F_MIN}..{f_max} Hz, dB",
        INPUT_RATE / 1000,
        RATE / 1000
    )
}

fn hz_to_mel(f: f64) -> f64 {
    2595.0 * (1.0 + f / 700.0).log10()
}

/// `torch.linspace(start, end, steps)` in float32: `start + step·i` for the first half,
/// `end − step·(steps − 1 − i)` for the second, each fused (one rounding), as torch's CPU
/// kernel computes it.
fn linspace_f32(start: f32, end: f32, steps: usize) -> Vec<f32> {
    let step = (end - start) / (steps - 1) as f32;
    (0..steps)
        .map(|i| {
            if i < steps / 2 {
                step.mul_add(i as f32, start)
            } else {
                (-step).mul_add((steps - 1 - i) as f32, end)
            }
        })
        .collect()
}

/// The 142 filter corner frequencies `f_pts` (Hz), in torchaudio's float32 arithmetic.
pub fn mel_points(f_max: f64) -> Vec<f32> {
    let m = linspace_f32(hz_to_mel(F_MIN) as f32, hz_to_mel(f_max) as f32, MELS + 2);
    m.iter()
        .map(|&m| 700.0 * (10f32.powf(m / 2595.0) - 1.0))
        .collect()
}

/// torchaudio's `melscale_fbanks` (HTK, no norm), float32 as it computes it: `(BINS, MELS)`.
fn filterbank(f_max: f64) -> Vec<f64> {
    let f_pts = mel_points(f_max);
    let freqs = linspace_f32(0.0, (RATE / 2) as f32, BINS);
    let mut fb = vec![0.0; BINS * MELS];
    for (k, &f) in freqs.iter().enumerate() {
        for j in 0..MELS {
            let down = -(f_pts[j] - f) / (f_pts[j + 1] - f_pts[j]);
            let up = (f_pts[j + 2] - f) / (f_pts[j + 2] - f_pts[j + 1]);
            fb[k * MELS + j] = down.min(up).max(0.0) as f64;
        }
    }
    fb
}

/// The log-mel feature extractor (FFT plan, window, filterbank, resampler built once).
pub struct LogMel {
    clip_samples: usize,
    fft: Arc<dyn RealToComplex<f64>>,
    window: Vec<f64>,
    /// `(BINS, MELS)` row-major.
    filterbank: Vec<f64>,
    resample: SincResampler,
}

impl LogMel {
    /// The pipeline for 1-s clips (GSC) with mel range 50 Hz .. `f_max`.
    pub fn new(f_max: f64) -> Self {
        Self::with_clip(f_max, CLIP_SAMPLES)
    }

    /// The pipeline for clips padded or cropped to `clip_samples` samples at 16 kHz.
    pub fn with_clip(f_max: f64, clip_samples: usize) -> Self {
        let filterbank = filterbank(f_max);
        let window = (0..N_FFT)
            .map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos())
            .collect();
        LogMel {
            clip_samples,
            fft: RealFftPlanner::<f64>::new().plan_fft_forward(N_FFT),
            window,
            filterbank,
            resample: SincResampler::new(16_000, RATE),
        }
    }

    /// Frames per clip.
    pub fn frames(&self) -> usize {
        frames_for(self.clip_samples)
    }

    /// Features of a 16 kHz mono clip (padded with zeros or cropped to the clip length):
    /// `(frames, MELS)` dB, time-major.
    pub fn features(&self, clip_16k: &[f32]) -> Vec<f32> {
        let mut x = vec![0.0f32; self.clip_samples];
        let n = clip_16k.len().min(self.clip_samples);
        x[..n].copy_from_slice(&clip_16k[..n]);
        let y = self.resample.apply(&x);
        let len = y.len();
        let pad = N_FFT / 2;
        // Reflect padding without repeating the edge sample.
        let padded: Vec<f64> = (0..len + 2 * pad)
            .map(|i| {
                let j = i as isize - pad as isize;
                let j = if j < 0 {
                    -j
                } else if j >= len as isize {
                    2 * (len as isize - 1) - j
                } else {
                    j
                };
                y[j as usize] as f64
            })
            .collect();
        let mut frame = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut power = [0.0f64; BINS];
        let frames = self.frames();
        debug_assert_eq!(frames, 1 + len / HOP);
        let mut out = vec![0.0f32; frames * MELS];
        for m in 0..frames {
            for (n, v) in frame.iter_mut().enumerate() {
                *v = self.window[n] * padded[m * HOP + n];
            }
            self.fft
                .process(&mut frame, &mut spectrum)
                .expect("FFT buffers have the planned sizes");
            for (p, c) in power.iter_mut().zip(&spectrum) {
                *p = c.norm_sqr();
            }
            let row = &mut out[m * MELS..(m + 1) * MELS];
            for (j, o) in row.iter_mut().enumerate() {
                let mel: f64 = (0..BINS)
                    .map(|k| power[k] * self.filterbank[k * MELS + j])
                    .sum();
                *o = (10.0 * mel.max(1e-10).log10()) as f32;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corner_frequencies_match_the_spec() {
        let f = mel_points(REFERENCE_F_MAX);
        let f: Vec<f64> = f.iter().map(|&v| v as f64).collect();
        assert!((f[0] - 50.0).abs() < 1e-3);
        assert!((f[1] - 66.00).abs() < 5e-3, "{}", f[1]);
        assert!((f[86] - 3905.2).abs() < 0.05, "{}", f[86]);
        assert!((f[87] - 4003.4).abs() < 0.05, "{}", f[87]);
    }

    #[test]
    fn frame_counts_follow_the_clip_length() {
        assert_eq!(frames_for(CLIP_SAMPLES), FRAMES);
        assert_eq!(frames_for(24_000), 151);
        let lm = LogMel::with_clip(REFERENCE_F_MAX, 24_000);
        assert_eq!(lm.features(&[0.1; 30_000]).len(), 151 * MELS);
    }

    #[test]
    fn empty_filters_give_minus_100_db() {
        let lm = LogMel::new(REFERENCE_F_MAX);
        let clip: Vec<f32> = (0..16000)
            .map(|i| ((i * 7919) % 101) as f32 / 200.0 - 0.25)
            .collect();
        let f = lm.features(&clip);
        assert_eq!(f.len(), FRAMES * MELS);
        for m in 0..FRAMES {
            assert!(
                f[m * MELS + 87..(m + 1) * MELS]
                    .iter()
                    .all(|&v| v == -100.0)
            );
            assert!(f[m * MELS + 86] > -100.0);
        }
        // Silence is −100 dB everywhere.
        assert!(lm.features(&[]).iter().all(|&v| v == -100.0));
    }
}
