//! Band-limited resampling exactly as torchaudio's default (`sinc_interp_hann`,
//! `lowpass_filter_width = 6`, `rolloff = 0.99`; docs/datasets.md §2.3 step 2): the ratio is reduced by
//! its gcd, one windowed-sinc filter per output phase is computed in float64 and stored as
//! float32, and the signal is zero-padded and convolved with stride `orig`.

/// A resampler from `orig` Hz to `new` Hz.
#[derive(Debug, Clone)]
pub struct SincResampler {
    orig: usize,
    new: usize,
    width: usize,
    /// `new` phases × `2·width + orig` taps.
    kernels: Vec<f32>,
    /// Per phase, the taps from its first nonzero one to past its last: the others add exact
    /// zeros (the clamped ends of the float64 kernel underflow float32), so they are skipped.
    spans: Vec<(usize, usize)>,
}

/// Greatest common divisor.
pub(crate) fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl SincResampler {
    /// torchaudio's kernel for `orig_hz → new_hz`.
    pub fn new(orig_hz: usize, new_hz: usize) -> Self {
        const WIDTH: f64 = 6.0;
        const ROLLOFF: f64 = 0.99;
        let g = gcd(orig_hz, new_hz).max(1);
        let (orig, new) = (orig_hz / g, new_hz / g);
        let base = orig.min(new) as f64 * ROLLOFF;
        let width = (WIDTH * orig as f64 / base).ceil() as usize;
        let taps = 2 * width + orig;
        let mut kernels = Vec::with_capacity(new * taps);
        for p in 0..new {
            for k in 0..taps {
                let idx = (k as f64 - width as f64) / orig as f64;
                let mut t = (-(p as f64) / new as f64 + idx) * base;
                t = t.clamp(-WIDTH, WIDTH);
                let window = (t * std::f64::consts::PI / WIDTH / 2.0).cos().powi(2);
                let t = t * std::f64::consts::PI;
                let sinc = if t == 0.0 { 1.0 } else { t.sin() / t };
                kernels.push((sinc * (window * (base / orig as f64))) as f32);
            }
        }
        SincResampler::with_spans(orig, new, width, kernels)
    }

    /// The kernel `torchaudio.functional.resample` builds for a float32 waveform: the same
    /// formula evaluated in float32 arithmetic (used to bring other rates to 16 kHz, as a user of
    /// the reference would with that function).
    pub fn new_f32(orig_hz: usize, new_hz: usize) -> Self {
        const WIDTH: f32 = 6.0;
        let g = gcd(orig_hz, new_hz).max(1);
        let (orig, new) = (orig_hz / g, new_hz / g);
        let base = orig.min(new) as f64 * 0.99;
        let width = (6.0 * orig as f64 / base).ceil() as usize;
        let taps = 2 * width + orig;
        let pi = std::f32::consts::PI;
        let scale = (base / orig as f64) as f32;
        let mut kernels = Vec::with_capacity(new * taps);
        for p in 0..new {
            for k in 0..taps {
                let idx = (k as f32 - width as f32) / orig as f32;
                let mut t = -(p as f32) / new as f32 + idx;
                t *= base as f32;
                t = t.clamp(-WIDTH, WIDTH);
                let c = (t * pi / WIDTH / 2.0).cos();
                let window = c * c;
                let t = t * pi;
                let sinc = if t == 0.0 { 1.0 } else { t.sin() / t };
                kernels.push(sinc * (window * scale));
            }
        }
        SincResampler::with_spans(orig, new, width, kernels)
    }

    fn with_spans(orig: usize, new: usize, width: usize, kernels: Vec<f32>) -> Self {
        let taps = 2 * width + orig;
        let spans = kernels
            .chunks(taps)
            .map(|h| {
                let first = h.iter().position(|&v| v != 0.0).unwrap_or(0);
                let last = h.iter().rposition(|&v| v != 0.0).map_or(0, |l| l + 1);
                (first, last.max(first))
            })
            .collect();
        SincResampler {
            orig,
            new,
            width,
            kernels,
            spans,
        }
    }

    /// The filter taps of output phase `p`.
    pub fn kernel(&self, p: usize) -> &[f32] {
        let taps = 2 * self.width + self.orig;
        &self.kernels[p * taps..(p + 1) * taps]
    }

    /// Resamples `x`; the output has `⌈new·len/orig⌉` samples. Identity when the rates agree.
    pub fn apply(&self, x: &[f32]) -> Vec<f32> {
        if self.orig == self.new {
            return x.to_vec();
        }
        let taps = 2 * self.width + self.orig;
        let out_len = (self.new * x.len()).div_ceil(self.orig);
        let mut y = Vec::with_capacity(out_len);
        'outer: for j in 0.. {
            for p in 0..self.new {
                if y.len() == out_len {
                    break 'outer;
                }
                let k0 = (j * self.orig) as isize - self.width as isize;
                // float64 accumulation: the exact convolution of the float32 kernel, which
                // torch's float32 conv1d approximates to within its rounding.
                let mut acc = 0.0f64;
                let (first, last) = self.spans[p];
                // Taps whose sample lies in x: k0 + k in 0..len.
                let lo = first.max((-k0).max(0) as usize);
                let hi = last.min((x.len() as isize - k0).max(0) as usize);
                let h = &self.kernel(p)[..taps];
                for k in lo..hi.max(lo) {
                    acc += h[k] as f64 * x[(k0 + k as isize) as usize] as f64;
                }
                y.push(acc as f32);
            }
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_to_one_kernel_matches_the_spec() {
        let r = SincResampler::new(16000, 8000);
        assert_eq!(r.width, 13);
        let h = r.kernel(0);
        assert_eq!(h.len(), 28);
        assert!((h[13] - 0.495).abs() < 1e-7);
        assert!((h[12] - 0.312956).abs() < 1e-6 && (h[14] - 0.312956).abs() < 1e-6);
        assert!(h[0].abs() < 1e-6 && h[26].abs() < 1e-6);
        let sum: f64 = h.iter().map(|&v| v as f64).sum();
        assert!((sum - 1.000457).abs() < 1e-6, "{sum}");
    }

    #[test]
    fn lengths_and_identity() {
        let x: Vec<f32> = (0..16000).map(|i| (i as f32 * 0.01).sin()).collect();
        assert_eq!(SincResampler::new(16000, 8000).apply(&x).len(), 8000);
        assert_eq!(SincResampler::new(44100, 16000).apply(&x).len(), 5805);
        assert_eq!(SincResampler::new(16000, 16000).apply(&x), x);
    }

    #[test]
    fn a_low_tone_survives_downsampling() {
        // 440 Hz at 16 kHz → 8 kHz: away from the edges, y[j] ≈ x(2j).
        let x: Vec<f32> = (0..16000)
            .map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 16000.0).sin())
            .collect();
        let y = SincResampler::new(16000, 8000).apply(&x);
        for j in 100..7900 {
            assert!(
                (y[j] - x[2 * j]).abs() < 2e-3,
                "{j}: {} vs {}",
                y[j],
                x[2 * j]
            );
        }
    }
}
