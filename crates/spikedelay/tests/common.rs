//! Shared helpers.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spikedelay::Seq;

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Uniform values in [lo, hi).
pub fn uniform(n: usize, lo: f32, hi: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

/// Spike counts: 0 with probability 1 − p, else 1 or 2.
pub fn spikes(b: usize, t: usize, c: usize, p: f64, rng: &mut ChaCha8Rng) -> Seq {
    let data = (0..b * t * c)
        .map(|_| {
            if rng.random_bool(p) {
                rng.random_range(1..=2) as f32
            } else {
                0.0
            }
        })
        .collect();
    Seq::from_vec(b, t, c, data).unwrap()
}

/// Σ r·x in f64.
pub fn project(x: &Seq, r: &[f32]) -> f64 {
    x.data
        .iter()
        .zip(r)
        .map(|(a, b)| *a as f64 * *b as f64)
        .sum()
}

/// Compares an analytic gradient with central differences `(f(+h) − f(−h))/2h` on `indices`.
/// `f(j, delta)` evaluates the loss with entry `j` moved by `delta`.
pub fn check_gradient(
    what: &str,
    analytic: &[f32],
    indices: impl IntoIterator<Item = usize>,
    h: f32,
    atol: f64,
    rtol: f64,
    mut f: impl FnMut(usize, f32) -> f64,
) {
    let mut checked = 0;
    for j in indices {
        let fd = (f(j, h) - f(j, -h)) / (2.0 * h as f64);
        let an = analytic[j] as f64;
        assert!(
            (fd - an).abs() <= atol + rtol * fd.abs().max(an.abs()),
            "{what}[{j}]: finite difference {fd:.6e} vs backward {an:.6e}"
        );
        checked += 1;
    }
    assert!(checked > 0, "{what}: nothing checked");
}

/// A synthetic SHD pair (`train_per_class` / `test_per_class` samples of many lengths) written
/// into `dir` in the published file format, and the SHD preset reading it (with its splits).
pub fn synthetic_shd(
    dir: &std::path::Path,
    train_per_class: usize,
    test_per_class: usize,
) -> (spikedelay::config::RunConfig, spikedelay::data::Splits) {
    use spikedelay::data::spikes::writer::{SpikeFileTypes, write_spike_file};
    let g = spikedelay::data::synthetic::shd::SyntheticShd {
        train_per_class,
        test_per_class,
        ..Default::default()
    };
    let (train, test) = g.generate();
    write_spike_file(&dir.join("shd_train.h5"), &train, SpikeFileTypes::PUBLISHED).unwrap();
    write_spike_file(&dir.join("shd_test.h5"), &test, SpikeFileTypes::PUBLISHED).unwrap();
    let mut config = spikedelay::config::Preset::Shd.config();
    config.data.source_mut().set_dir(dir.to_path_buf()).unwrap();
    let splits = config
        .data
        .load(config.model.time_step_ms, &mut ())
        .unwrap();
    (config, splits)
}
