//! The cochlea against `lauscher` itself, from fixtures its own code wrote
//! (tools/cochlea/make_fixtures.py): stages to 1e-8 and the exact sampler spike for spike; the
//! fast sampler against the exact one statistically; thread counts; bad input.

use std::path::PathBuf;

use super::*;
use crate::hdf5_numbers::Hdf5Values;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cochlea")
        .join(name)
}

struct Lauscher {
    wave: Vec<f64>,
    rate: usize,
    rows: Vec<usize>,
    velocity: Vec<f64>,
    probability: Vec<f64>,
    seed: u64,
    spikes: Vec<(u32, u32)>,
}

fn load(name: &str) -> Lauscher {
    let path = fixture(name);
    let file = crate::hdf5_open::open(&path, "a cochlea fixture").unwrap();
    let v = Hdf5Values {
        file: &file,
        path: &path,
    };
    let n = |k: &str| v.numbers(k).unwrap().1;
    let index = n("spike_index");
    let channel = n("spike_channel");
    Lauscher {
        wave: n("wave"),
        rate: n("rate")[0] as usize,
        rows: n("rows").iter().map(|&r| r as usize).collect(),
        velocity: n("velocity"),
        probability: n("probability"),
        seed: n("seed")[0] as u64,
        spikes: index
            .iter()
            .zip(&channel)
            .map(|(&t, &c)| (t as u32, c as u32))
            .collect(),
    }
}

fn worst_relative(ours: &[Vec<f64>], theirs: &[f64]) -> f64 {
    let m = ours[0].len();
    ours.iter()
        .enumerate()
        .map(|(r, row)| {
            let t = &theirs[r * m..(r + 1) * m];
            let scale = t.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            let diff = row
                .iter()
                .zip(t)
                .fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
            diff / scale
        })
        .fold(0.0, f64::max)
}

fn indices(s: &ClipSpikes, out_rate: usize) -> Vec<(u32, u32)> {
    s.times
        .iter()
        .zip(&s.units)
        .map(|(&t, &c)| ((t * out_rate as f64).round() as u32, c))
        .collect()
}

#[test]
fn stages_and_exact_spikes_equal_lauscher() {
    let cochlea = Cochlea::new(CochleaParams::default()).unwrap();
    for name in ["lauscher-16k.h5", "lauscher-48k.h5"] {
        let l = load(name);
        let (velocity, probability, out_rate) = cochlea.stages(&l.wave, l.rate, &l.rows).unwrap();
        assert_eq!(out_rate, l.rate / 2);
        let (dv, dp) = (
            worst_relative(&velocity, &l.velocity),
            worst_relative(&probability, &l.probability),
        );
        assert!(
            dv < 1e-8 && dp < 1e-8,
            "{name}: velocity {dv:e}, probability {dp:e}"
        );
        let spikes = cochlea
            .spikes(&l.wave, l.rate, l.seed, Sampler::Exact)
            .unwrap();
        assert!(
            l.spikes.len() > 300,
            "{name}: a fixture with few spikes checks little"
        );
        assert_eq!(
            indices(&spikes, out_rate),
            l.spikes,
            "{name}: spikes differ from lauscher's"
        );
    }
}

#[test]
fn spikes_do_not_depend_on_the_thread_count() {
    let l = load("lauscher-16k.h5");
    let cochlea = Cochlea::new(CochleaParams::default()).unwrap();
    for sampler in [Sampler::Fast, Sampler::Exact] {
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| cochlea.spikes(&l.wave, l.rate, 3, sampler).unwrap())
        };
        let one = run(1);
        assert!(!one.times.is_empty());
        assert_eq!(one, run(3), "{sampler:?}");
    }
}

/// Fibre spikes per sample by `lauscher`'s rule: a uniform per sample and fibre, then the
/// refractory correction per fibre.
fn lauscher_fibres(
    p: &BushyCellParams,
    rate: usize,
    prob: &[f64],
    rng: &mut NumpyLegacy,
) -> Vec<u8> {
    let refrac = p.tau_refrac * rate as f64;
    let mut last = vec![-refrac; p.fibres];
    let mut counts = vec![0u8; prob.len()];
    for (t, &pr) in prob.iter().enumerate() {
        for l in last.iter_mut() {
            if rng.next_double() < pr && t as f64 - *l >= refrac {
                *l = t as f64;
                counts[t] += 1;
            }
        }
    }
    counts
}

/// Welch's z for the mean fibre spike count in each 10 ms window (and the total) over 400
/// draws of each sampler, on a real channel's firing probability: |z| < 4.5 everywhere.
#[test]
fn fast_sampler_draws_the_same_fibre_process() {
    let l = load("lauscher-16k.h5");
    let cochlea = Cochlea::new(CochleaParams::default()).unwrap();
    let (_, probability, out_rate) = cochlea.stages(&l.wave, l.rate, &[350, 600]).unwrap();
    let bushy = BushyCellParams::default();
    let window = out_rate / 100;
    for prob in &probability {
        let windows = prob.len().div_ceil(window);
        let stats = |draws: &mut dyn FnMut(u64) -> Vec<u8>| {
            let mut sum = vec![0.0; windows + 1];
            let mut sq = vec![0.0; windows + 1];
            for run in 0..400u64 {
                let counts = draws(run);
                let mut per = vec![0.0; windows + 1];
                for (t, &c) in counts.iter().enumerate() {
                    per[t / window] += c as f64;
                    per[windows] += c as f64;
                }
                for (w, v) in per.iter().enumerate() {
                    sum[w] += v;
                    sq[w] += v * v;
                }
            }
            (sum, sq)
        };
        let (mut hazard, mut counts) = (Vec::new(), Vec::new());
        let fast = stats(&mut |run| {
            fast_sampler::fast_fibre_counts(
                &bushy,
                out_rate,
                prob,
                run,
                0,
                &mut hazard,
                &mut counts,
            )
        });
        let exact = stats(&mut |run| {
            lauscher_fibres(&bushy, out_rate, prob, &mut NumpyLegacy::new(run as u32))
        });
        let n = 400.0;
        for w in 0..=windows {
            let (m1, m2) = (fast.0[w] / n, exact.0[w] / n);
            let v1 = (fast.1[w] / n - m1 * m1) * n / (n - 1.0);
            let v2 = (exact.1[w] / n - m2 * m2) * n / (n - 1.0);
            let se = ((v1 + v2) / n).sqrt();
            if se > 0.0 {
                let z = (m1 - m2) / se;
                assert!(
                    z.abs() < 4.5,
                    "window {w}: fast {m1:.3} vs exact {m2:.3} (z = {z:.2})"
                );
            } else {
                assert_eq!(m1, m2, "window {w}");
            }
        }
        assert!(
            exact.0[windows] / n > 5.0,
            "a channel that hardly fires checks little"
        );
    }
}

#[test]
fn bad_input_names_the_option() {
    let cochlea = Cochlea::new(CochleaParams::default()).unwrap();
    let err = |r: Result<ClipSpikes>| r.unwrap_err().to_string();
    let e = err(cochlea.spikes(&[0.0; 1000], 16000, 0, Sampler::Fast));
    assert!(e.contains("audio") && e.contains("silent"), "{e}");
    let e = err(cochlea.spikes(&[0.5], 16000, 0, Sampler::Fast));
    assert!(e.contains("at least 2"), "{e}");
    let e = err(cochlea.spikes(&[0.5, -0.5], 4000, 0, Sampler::Fast));
    assert!(e.contains("rate") && e.contains("4000"), "{e}");
    let e = err(cochlea.spikes(&[0.5, -0.5], 16000, 1 << 40, Sampler::Exact));
    assert!(e.contains("seed"), "{e}");
    for channels in [0, 70_000] {
        let p = CochleaParams {
            channels,
            ..CochleaParams::default()
        };
        let e = Cochlea::new(p).unwrap_err().to_string();
        assert!(e.contains("channels"), "{e}");
    }
    let mut p = CochleaParams::default();
    p.membrane.h = -1.0;
    assert!(
        Cochlea::new(p)
            .unwrap_err()
            .to_string()
            .contains("membrane.h")
    );
}
