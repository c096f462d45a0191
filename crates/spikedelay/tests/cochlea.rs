//! `data cochlea` conversions: an audio folder into split files the `spike-file` kind reads,
//! resumed after a stop with the same result, and bad clips named without anything half-written.

use std::cell::Cell;
use std::path::Path;

use spikedelay::data::audio::wav::write_wav_i16;
use spikedelay::data::cochlea::convert::{AudioInput, CochleaSettings, convert};
use spikedelay::data::cochlea::{CochleaParams, Sampler};
use spikedelay::data::spikes::file::SpikeFile;

/// Two words × 24 speakers of 60 ms tones (word 0 low, word 1 high), at 16 kHz.
fn folder(root: &Path) {
    for (w, word) in ["low", "high"].iter().enumerate() {
        std::fs::create_dir_all(root.join(word)).unwrap();
        for s in 0..24 {
            let f = if w == 0 { 300.0 } else { 2500.0 } + 10.0 * s as f32;
            let x: Vec<f32> = (0..960)
                .map(|i| 0.3 * (2.0 * std::f32::consts::PI * f * i as f32 / 16000.0).sin())
                .collect();
            write_wav_i16(
                &root.join(word).join(format!("sp{s:02}_nohash_0.wav")),
                &x,
                16000,
            )
            .unwrap();
        }
    }
}

fn settings() -> CochleaSettings {
    CochleaSettings {
        params: CochleaParams {
            channels: 24,
            ..CochleaParams::default()
        },
        seed: 5,
        sampler: Sampler::Fast,
        ..CochleaSettings::default()
    }
}

fn input(root: &Path) -> AudioInput {
    AudioInput::Folder {
        root: root.to_path_buf(),
        valid_percent: 0.0,
        test_percent: 15.0,
    }
}

#[test]
fn a_stopped_conversion_resumes_to_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("audio");
    folder(&audio);
    let whole = dir.path().join("whole");
    let summary = convert(&input(&audio), &whole, &settings(), &mut (), &|| false).unwrap();
    let names: Vec<String> = summary
        .files
        .iter()
        .map(|f| f.0.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["train.h5", "test.h5"]);
    let train = SpikeFile::open(&whole.join("train.h5")).unwrap();
    let test = SpikeFile::open(&whole.join("test.h5")).unwrap();
    assert_eq!(train.len() + test.len(), 48);
    assert!(train.len() > 32, "the training split spans two chunks");
    assert_eq!(train.keys, ["high", "low"]);
    let spikes: usize = (0..train.len())
        .map(|i| train.sample(i).unwrap().times.len())
        .sum();
    assert!(spikes > 5 * train.len(), "{spikes} spikes");
    // Stopped after its first chunk, as a kill would leave it; then resumed.
    let resumed = dir.path().join("resumed");
    let calls = Cell::new(0);
    let stop = || {
        calls.set(calls.get() + 1);
        calls.get() > 1
    };
    let err = convert(&input(&audio), &resumed, &settings(), &mut (), &stop)
        .unwrap_err()
        .to_string();
    assert!(err.contains("resumes"), "{err}");
    assert!(!resumed.join("train.h5").exists());
    assert!(resumed.join(".cochlea-partial/train-00000.h5").is_file());
    convert(&input(&audio), &resumed, &settings(), &mut (), &|| false).unwrap();
    for name in ["train.h5", "test.h5"] {
        assert_eq!(
            std::fs::read(whole.join(name)).unwrap(),
            std::fs::read(resumed.join(name)).unwrap(),
            "{name}"
        );
    }
    assert!(!resumed.join(".cochlea-partial").exists());
    // A partial conversion with other settings is refused, naming the folder.
    let other = dir.path().join("other");
    let _ = convert(&input(&audio), &other, &settings(), &mut (), &stop);
    let mut changed = settings();
    changed.seed = 6;
    let err = convert(&input(&audio), &other, &changed, &mut (), &|| false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("other audio or settings"), "{err}");
}

#[test]
fn a_bad_clip_is_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("audio");
    folder(&audio);
    std::fs::write(audio.join("low/sp03_nohash_0.wav"), b"RIFF....not a wav").unwrap();
    write_wav_i16(&audio.join("high/sp04_nohash_0.wav"), &[0.0; 500], 16000).unwrap();
    let out = dir.path().join("out");
    let err = convert(&input(&audio), &out, &settings(), &mut (), &|| false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sp03_nohash_0.wav") || err.contains("sp04_nohash_0.wav"),
        "{err}"
    );
    assert!(!out.join("train.h5").exists() && !out.join("test.h5").exists());
    std::fs::remove_file(audio.join("low/sp03_nohash_0.wav")).unwrap();
    let out = dir.path().join("out2");
    let err = convert(&input(&audio), &out, &settings(), &mut (), &|| false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sp04_nohash_0.wav") && err.contains("silent"),
        "{err}"
    );
    let err = convert(
        &AudioInput::Files(vec![dir.path().join("missing.wav")]),
        &out,
        &settings(),
        &mut (),
        &|| false,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("missing.wav"), "{err}");
}
