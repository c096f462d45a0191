//! The two file-based dataset kinds with data that is neither SHD, SSC nor GSC: an audio folder
//! with four arbitrary class names and 1.5-s clips, spike files with 64 channels and 3 classes;
//! each trains above chance from the command line, and bad input is named.

use std::path::Path;

use spikedelay::data::audio::wav::write_wav_i16;
use spikedelay::data::spikes::file::SpikeSample;
use spikedelay::data::spikes::writer::{SpikeFileContents, SpikeFileTypes, write_spike_file};

mod common;
use common::{spikedelay, stderr_of, stdout_of, summary};

/// A small deterministic generator (no test dependency on `rand`).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

const WORDS: [&str; 4] = ["kettle", "arbor", "zither", "mango"];

/// Four classes of 1.5-s clips, 60 speakers each: a tone per class (with random phase, level
/// and noise) that starts at a random time.
fn write_audio_folder(root: &Path) {
    let mut rng = Lcg(7);
    let rate = 16_000usize;
    for (c, word) in WORDS.iter().enumerate() {
        std::fs::create_dir_all(root.join(word)).unwrap();
        let f = [400.0, 900.0, 1700.0, 3000.0][c];
        for speaker in 0..60 {
            let n = (1.5 * rate as f64) as usize;
            let onset = (rng.next() * 0.5 * rate as f64) as usize;
            let (phase, level) = (rng.next() * std::f64::consts::TAU, 0.2 + 0.3 * rng.next());
            let samples: Vec<f32> = (0..n)
                .map(|k| {
                    let tone = if k >= onset && k < onset + rate / 2 {
                        level
                            * (2.0 * std::f64::consts::PI * f * k as f64 / rate as f64 + phase)
                                .sin()
                    } else {
                        0.0
                    };
                    (tone + 0.02 * (rng.next() - 0.5)) as f32
                })
                .collect();
            let path = root.join(word).join(format!("s{speaker:02}x_nohash_0.wav"));
            write_wav_i16(&path, &samples, rate as u32).unwrap();
        }
    }
}

const SMALL: &str = "[model]\nhidden = [24]\nmax_delay_ms = 100.0\n\n[train]\nepochs = 4\n\
                     batch_size = 16\n";

#[test]
fn an_audio_folder_with_four_classes_and_long_clips_trains_above_chance() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("words");
    write_audio_folder(&root);
    let cfg = dir.path().join("audio.toml");
    std::fs::write(
        &cfg,
        format!(
            "[data]\ndataset = \"audio-folder\"\ndir = \"{}\"\nclip_seconds = 1.5\n\
             valid_percent = 20.0\ntest_percent = 20.0\n{SMALL}",
            root.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("run");
    // More, smaller batches: BatchNorm's running statistics must settle on dB-scale inputs.
    let s = stdout_of(spikedelay().args([
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--epochs",
        "8",
        "--batch-size",
        "8",
        "--out",
        out.to_str().unwrap(),
    ]));
    // 1.5 s at 8 kHz with hop 80: 151 frames of 140 mel bins; four classes in the readout.
    assert!(s.contains("140 channels, 4 classes, 151..151 steps"), "{s}");
    let sum = summary(&out);
    let acc = sum["test_accuracy"].as_f64().unwrap();
    assert!(acc > 0.5, "test accuracy {acc} (chance 0.25): {s}");
    assert_eq!(sum["dataset"], "words");

    let ev = stdout_of(spikedelay().args([
        "eval",
        "--json",
        "--checkpoint",
        out.join("best.safetensors").to_str().unwrap(),
    ]));
    let ev: serde_json::Value = serde_json::from_str(&ev).unwrap();
    assert_eq!(
        ev["test"]["per_class_accuracy"].as_array().unwrap().len(),
        4
    );
}

#[test]
fn bad_audio_folders_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("words");
    write_audio_folder(&root);
    let cfg = dir.path().join("audio.toml");
    let write_cfg = |extra: &str| {
        std::fs::write(
            &cfg,
            format!(
                "[data]\ndataset = \"audio-folder\"\ndir = \"{}\"\n{extra}{SMALL}",
                root.display()
            ),
        )
        .unwrap();
    };
    let train = |out: &str| {
        stderr_of(spikedelay().args([
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            dir.path().join(out).to_str().unwrap(),
        ]))
    };
    // A listed class without a folder.
    write_cfg("classes = [\"kettle\", \"arbor\", \"zither\", \"mango\", \"quince\"]\n");
    let err = train("a");
    assert!(err.contains("quince") && err.contains("not found"), "{err}");
    // An empty class folder.
    std::fs::create_dir_all(root.join("quince")).unwrap();
    write_cfg("");
    let err = train("b");
    assert!(
        err.contains("quince") && err.contains("no .wav clips"),
        "{err}"
    );
    std::fs::remove_dir_all(root.join("quince")).unwrap();
    // A clip that does not decode: the error names it, and no feature cache is left behind.
    let victim = root.join("arbor/s03x_nohash_0.wav");
    std::fs::write(&victim, b"RIFF not really").unwrap();
    let err = train("c");
    assert!(err.contains("s03x_nohash_0.wav"), "{err}");
    let cache = root.join(".spikedelay-cache");
    let leftovers: Vec<_> = std::fs::read_dir(&cache)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        leftovers
            .iter()
            .all(|n| !n.to_string_lossy().contains(".tmp")),
        "{leftovers:?}"
    );
    // A split list naming a class that has no folder.
    std::fs::remove_file(&victim).unwrap();
    std::fs::write(root.join("validation_list.txt"), "plum/x_nohash_0.wav\n").unwrap();
    std::fs::write(root.join("testing_list.txt"), "").unwrap();
    let err = train("d");
    assert!(
        err.contains("validation_list.txt line 1") && err.contains("plum"),
        "{err}"
    );
}

/// `n` samples per class of 3 classes on 64 channels: each class fires mostly on its own third
/// of the channels, at random times over 0.4 s.
fn spike_contents(per_class: usize, seed: u64, max_unit: u32) -> SpikeFileContents {
    let mut rng = Lcg(seed);
    let mut c = SpikeFileContents {
        samples: Vec::new(),
        labels: Vec::new(),
        speakers: Vec::new(),
        keys: vec!["low".into(), "mid".into(), "high".into()],
        meta_info: None,
    };
    for k in 0..3 * per_class {
        let label = (k % 3) as u32;
        let mut spikes: Vec<(f64, u32)> = (0..120)
            .map(|_| {
                let unit = if rng.next() < 0.8 {
                    label * 21 + (rng.next() * 21.0) as u32
                } else {
                    (rng.next() * max_unit as f64) as u32
                };
                (rng.next() * 0.4, unit.min(max_unit - 1))
            })
            .collect();
        spikes.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        c.samples.push(SpikeSample {
            times: spikes.iter().map(|s| s.0).collect(),
            units: spikes.iter().map(|s| s.1).collect(),
        });
        c.labels.push(label);
        c.speakers.push((k % 5) as u32);
    }
    c
}

#[test]
fn spike_files_with_64_channels_and_3_classes_train_above_chance() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("sensor");
    std::fs::create_dir_all(&data).unwrap();
    let types = SpikeFileTypes::PUBLISHED;
    write_spike_file(&data.join("train.h5"), &spike_contents(60, 1, 64), types).unwrap();
    write_spike_file(&data.join("test.h5"), &spike_contents(20, 2, 64), types).unwrap();
    let cfg = dir.path().join("spikes.toml");
    let table = format!(
        "[data]\ndataset = \"spike-file\"\ndir = \"{}\"\n{SMALL}",
        data.display()
    );
    std::fs::write(&cfg, &table).unwrap();
    let out = dir.path().join("run");
    let s = stdout_of(spikedelay().args([
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(s.contains("64 channels, 3 classes"), "{s}");
    let acc = summary(&out)["test_accuracy"].as_f64().unwrap();
    assert!(acc > 0.6, "test accuracy {acc} (chance 0.33): {s}");

    // A test file whose spikes reach channels the training file does not have.
    write_spike_file(&data.join("test.h5"), &spike_contents(20, 3, 100), types).unwrap();
    let err = stderr_of(spikedelay().args([
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        dir.path().join("bad").to_str().unwrap(),
    ]));
    assert!(err.contains("test.h5") && err.contains("64"), "{err}");
}
