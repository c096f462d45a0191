//! Fuzzing on stable Rust: every reader of untrusted input — the HDF5 spike reader, the WAV
//! reader with the log-mel chain behind it, the TOML configuration, the checkpoint loader and
//! the metrics reader — is fed mutated copies of valid inputs (bit flips, interesting numbers,
//! truncation, deletion, duplication, insertion; one to four per case, from a seeded ChaCha
//! stream, so every case is reproducible from its number). Each case must return `Ok` or a
//! named `Err`: a panic fails the test and leaves the input in `target/fuzz-crashers/`, and an
//! abort (an allocation the size of a corrupted header) fails the whole test binary.
//!
//! Cases per target: `SPIKEDELAY_FUZZ_CASES` (default: a smoke run of 600 each, about 3 000 in
//! all). Inputs that once crashed live in `tests/fixtures/fuzz/<target>/` and run every time.
//! The longer run is `tools/fuzz.sh [CASES]` (docs/robustness.md).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spikedelay::config::RunConfig;
use spikedelay::data::audio::features::clip_features;
use spikedelay::data::audio::log_mel::LogMel;
use spikedelay::data::audio::wav::write_wav;
use spikedelay::data::spikes::file::SpikeFile;
use spikedelay::data::spikes::writer::{SpikeFileTypes, write_spike_file};
use spikedelay::model::DelayMode;
use spikedelay::train::metrics::read_metrics;
use spikedelay::train::{Checkpoint, Trainer};

use crate::training::{small_config, splits_of};

fn cases() -> usize {
    std::env::var("SPIKEDELAY_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600)
}

const INTERESTING_U8: [u8; 6] = [0, 1, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_U32: [u32; 7] = [0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x0001_0000, 44];

/// One to four random mutations of `seed`.
fn mutate(seed: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let len = b.len().max(1);
        let at = rng.random_range(0..len);
        match rng.random_range(0..7) {
            0 => {
                if let Some(x) = b.get_mut(at) {
                    *x ^= 1 << rng.random_range(0..8);
                }
            }
            1 => {
                if let Some(x) = b.get_mut(at) {
                    *x = INTERESTING_U8[rng.random_range(0..INTERESTING_U8.len())];
                }
            }
            2 => {
                let v = INTERESTING_U32[rng.random_range(0..INTERESTING_U32.len())].to_le_bytes();
                for (k, byte) in v.iter().enumerate() {
                    if let Some(x) = b.get_mut(at + k) {
                        *x = *byte;
                    }
                }
            }
            3 => b.truncate(at),
            4 => {
                let end = (at + rng.random_range(1..64)).min(b.len());
                b.drain(at.min(end)..end);
            }
            5 => {
                let end = (at + rng.random_range(1..64)).min(b.len());
                let piece = b[at.min(end)..end].to_vec();
                let to = rng.random_range(0..=b.len());
                b.splice(to..to, piece);
            }
            _ => {
                let n = rng.random_range(1..16);
                let junk: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                let to = rng.random_range(0..=b.len());
                b.splice(to..to, junk);
            }
        }
    }
    b
}

/// Feeds `seeds`' mutations (and the committed regression inputs) to `target` through a file
/// at `path`; panics are collected, saved and reported together.
fn fuzz(name: &str, seeds: &[Vec<u8>], path: &Path, target: impl Fn(&Path) -> bool) {
    fuzz_with(name, seeds, path, mutate, target)
}

/// [`fuzz`] with another mutator.
fn fuzz_with(
    name: &str,
    seeds: &[Vec<u8>],
    path: &Path,
    mutator: impl Fn(&[u8], &mut ChaCha8Rng) -> Vec<u8>,
    target: impl Fn(&Path) -> bool,
) {
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(name);
    if let Ok(dir) = std::fs::read_dir(&fixtures) {
        for e in dir.flatten() {
            inputs.push((
                e.path().display().to_string(),
                std::fs::read(e.path()).unwrap(),
            ));
        }
    }
    let n = cases();
    let (mut ok, mut refused, mut crashed) = (0, 0, Vec::new());
    for (label, bytes) in inputs.into_iter().chain((0..n).map(|case| {
        let mut rng = ChaCha8Rng::seed_from_u64(case as u64 ^ 0x5eed_f022);
        let seed = &seeds[case % seeds.len()];
        (format!("case {case}"), mutator(seed, &mut rng))
    })) {
        std::fs::write(path, &bytes).unwrap();
        match catch_unwind(AssertUnwindSafe(|| target(path))) {
            Ok(true) => ok += 1,
            Ok(false) => refused += 1,
            Err(_) => {
                let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../../target/fuzz-crashers")
                    .join(name);
                std::fs::create_dir_all(&dir).unwrap();
                let saved = dir.join(format!("{}.bin", label.replace(' ', "-")));
                std::fs::write(&saved, &bytes).unwrap();
                crashed.push(format!("{label} → {}", saved.display()));
            }
        }
    }
    eprintln!(
        "fuzz {name}: {} inputs, {ok} accepted, {refused} refused with an error, {} panics",
        ok + refused + crashed.len(),
        crashed.len()
    );
    assert!(
        crashed.is_empty(),
        "{name}: {} panics: {crashed:?}",
        crashed.len()
    );
    // The mutations must reach both outcomes, or the fuzzer tests nothing.
    assert!(
        ok > 0 && refused > 0,
        "{name}: {ok} accepted, {refused} refused"
    );
}

#[test]
fn fuzz_spike_files() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.h5");
    write_spike_file(
        &good,
        &crate::spike_files::special_contents(),
        SpikeFileTypes::PUBLISHED,
    )
    .unwrap();
    let seeds = vec![std::fs::read(&good).unwrap()];
    fuzz("spike-file", &seeds, &dir.path().join("case.h5"), |p| {
        let r = SpikeFile::open(p).and_then(|f| {
            (0..f.len()).try_for_each(|i| f.sample(i).map(|_| ()))?;
            f.check_labels(f.classes())
        });
        if let Err(e) = &r {
            assert!(e.to_string().contains("case.h5"), "{e}");
        }
        r.is_ok()
    });
}

#[test]
fn fuzz_wav_clips() {
    let dir = tempfile::tempdir().unwrap();
    let mut seeds = Vec::new();
    for (rate, channels, bits) in [(16_000, 1, 16), (22_050, 2, 24), (8_000, 1, 8)] {
        let p = dir.path().join("seed.wav");
        let x: Vec<f32> = (0..400 * channels as usize)
            .map(|i| (i as f32 * 0.05).sin() * 0.5)
            .collect();
        write_wav(&p, &x, channels, rate, bits).unwrap();
        seeds.push(std::fs::read(&p).unwrap());
    }
    let log_mel = LogMel::with_clip(8_000.0, 1_600);
    fuzz("wav", &seeds, &dir.path().join("case.wav"), |p| {
        let r = clip_features(p, &log_mel);
        if let Err(e) = &r {
            assert!(e.to_string().contains("case.wav"), "{e}");
        }
        if let Ok(f) = &r {
            assert!(f.iter().all(|x| x.is_finite()), "non-finite features");
        }
        r.is_ok()
    });
}

/// Extreme values for a configuration's numbers (and wrong types).
const EXTREME_VALUES: [&str; 14] = [
    "0",
    "-1",
    "1",
    "1e308",
    "-1e308",
    "-0.0",
    "nan",
    "inf",
    "1e-320",
    "4294967296",
    "9223372036854775807",
    "[]",
    "\"x\"",
    "[0, 0, 0, 0, 0, 0, 0, 0]",
];

/// Half the time a byte-level mutation; otherwise one to three values (the text after
/// `= `) replaced by extreme ones, so that cases get past the parser into validation.
fn mutate_values(seed: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    if rng.random_bool(0.5) {
        return mutate(seed, rng);
    }
    let text = String::from_utf8_lossy(seed);
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for _ in 0..rng.random_range(1..=3) {
        let valued: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].contains(" = "))
            .collect();
        if valued.is_empty() {
            break;
        }
        let i = valued[rng.random_range(0..valued.len())];
        let key = lines[i].split(" = ").next().unwrap_or("").to_owned();
        let value = EXTREME_VALUES[rng.random_range(0..EXTREME_VALUES.len())];
        lines[i] = format!("{key} = {value}");
    }
    lines.join("\n").into_bytes()
}

#[test]
fn fuzz_config_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut seeds = vec![RunConfig::default().to_toml().into_bytes()];
    for preset in [
        spikedelay::config::Preset::Shd,
        spikedelay::config::Preset::Gsc,
    ] {
        let mut c = preset.config();
        c.data.source_mut().set_dir("/data".into()).unwrap();
        seeds.push(c.to_toml().into_bytes());
    }
    fuzz_with(
        "config",
        &seeds,
        &dir.path().join("case.toml"),
        mutate_values,
        |p| {
            let r = RunConfig::from_toml_file(p).and_then(|c| {
                c.validate()?;
                c.network_config(700, 20)
                    .memory_estimate(c.train.batch_size, Some(100))
                    .check("the network")?;
                Ok(c)
            });
            if let Ok(c) = &r {
                // What validates must survive its own round trip.
                let back = RunConfig::from_toml_str(&c.to_toml()).unwrap();
                assert_eq!(&back, c);
            }
            r.is_ok()
        },
    );
}

#[test]
fn fuzz_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(DelayMode::Learned, 1);
    let splits = splits_of(&config);
    let t = Trainer::new(config, splits.train.channels(), splits.train.classes()).unwrap();
    let good = dir.path().join("good.safetensors");
    t.checkpoint(true).save(&good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    // Without the checksum too, so that mutations reach the structural checks behind it.
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut meta = header.metadata().clone().unwrap();
    meta.remove("checksum");
    let unsummed = safetensors::serialize(st.tensors(), Some(meta)).unwrap();
    fuzz(
        "checkpoint",
        &[bytes.clone(), unsummed],
        &dir.path().join("case.safetensors"),
        |p| {
            let r = Checkpoint::load(p);
            if let Err(e) = &r {
                assert!(e.to_string().contains("case.safetensors"), "{e}");
            }
            r.is_ok()
        },
    );
}

#[test]
fn fuzz_metrics_records() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let config = small_config(DelayMode::Learned, 1);
    let splits = splits_of(&config);
    let mut t = Trainer::new(config, splits.train.channels(), splits.train.classes())
        .unwrap()
        .with_output(&out, spikedelay::train::Existing::Refuse)
        .unwrap();
    t.run(&splits, &mut ()).unwrap();
    let seeds = vec![std::fs::read(out.join("metrics.jsonl")).unwrap()];
    fuzz("metrics", &seeds, &dir.path().join("case.jsonl"), |p| {
        let r = read_metrics(p);
        if let Err(e) = &r {
            assert!(e.to_string().contains("case.jsonl"), "{e}");
        }
        r.is_ok()
    });
}
