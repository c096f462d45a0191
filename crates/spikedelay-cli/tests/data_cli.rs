//! `spikedelay data ...` and training on SHD- and GSC-format data end to end, with presets
//! overridden by a TOML file so the runs stay small.

mod common;
use common::{spikedelay, stderr_of, stdout_of, summary};

/// Shrinks a preset: the TOML overrides only these keys.
const SMALL: &str = "[model]\nhidden = [24]\n\n[train]\nbatch_size = 32\n";

#[test]
fn synthetic_shd_trains_with_the_shd_preset_and_both_protocols() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("shd");
    let s = stdout_of(spikedelay().args([
        "data",
        "make-synthetic",
        "--format",
        "shd",
        data.to_str().unwrap(),
        "--train-per-class",
        "10",
        "--test-per-class",
        "3",
    ]));
    assert!(s.contains("shd_train.h5 (200 samples)"), "{s}");
    let report = stdout_of(spikedelay().args([
        "data",
        "inspect",
        data.join("shd_test.h5").to_str().unwrap(),
    ]));
    assert!(report.contains("samples        60"), "{report}");
    assert!(report.contains("speakers       4:30 5:30"), "{report}");
    assert!(report.contains("problems       0"), "{report}");
    let cfg = dir.path().join("small.toml");
    std::fs::write(&cfg, SMALL).unwrap();
    for (select, sizes) in [
        ("valid", "180 train / 20 valid / 60 test samples"),
        ("test", "200 train / 60 valid / 60 test samples"),
    ] {
        let out = dir.path().join(format!("run-{select}"));
        let s = stdout_of(spikedelay().args([
            "train",
            "--preset",
            "shd",
            "--config",
            cfg.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--select-on",
            select,
            "--epochs",
            "1",
            "--out",
            out.to_str().unwrap(),
        ]));
        assert!(s.contains(sizes), "{s}");
        assert!(s.contains("140 → 24 → 20"), "{s}");
        assert!(s.contains("D = 25"), "{s}");
        let sm = summary(&out);
        assert_eq!(sm["dataset"], "shd");
        let selection = sm["selection"].as_str().unwrap();
        if select == "valid" {
            assert!(selection.contains("held-out 10%"), "{selection}");
        } else {
            assert!(selection.contains("TEST"), "{selection}");
        }
        assert!(sm["input"].as_str().unwrap().contains("event-anchored"));
        // The checkpoint knows its data: eval reloads the splits (from the cache).
        let ev = stdout_of(spikedelay().args([
            "eval",
            "--checkpoint",
            out.join("best.safetensors").to_str().unwrap(),
        ]));
        assert!(ev.contains("test: accuracy") && ev.contains("/60)"), "{ev}");
        let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
        assert!(config.contains("binning = \"event-anchored\""), "{config}");
        assert!(config.contains("dropout = 0.4"), "{config}");
    }
    // The cache was built once, next to the data.
    let cache = data.join(".spikedelay-cache");
    assert_eq!(std::fs::read_dir(cache).unwrap().count(), 2);
}

#[test]
fn synthetic_gsc_trains_with_the_gsc_preset() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("gsc");
    let s = stdout_of(spikedelay().args([
        "data",
        "make-synthetic",
        "--format",
        "gsc",
        data.to_str().unwrap(),
        "--speakers",
        "4",
    ]));
    assert!(s.contains("140 clips"), "{s}");
    let report = stdout_of(spikedelay().args(["data", "inspect", data.to_str().unwrap()]));
    assert!(report.contains("training   70 clips"), "{report}");
    assert!(
        report.contains("22050 Hz, 1 channel(s), 16 bit: 35 clips"),
        "{report}"
    );
    assert!(
        report.contains("16000 Hz, 2 channel(s), 24 bit: 35 clips"),
        "{report}"
    );
    let cfg = dir.path().join("small.toml");
    std::fs::write(&cfg, SMALL).unwrap();
    let out = dir.path().join("run");
    let s = stdout_of(spikedelay().args([
        "train",
        "--preset",
        "gsc",
        "--config",
        cfg.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(
        s.contains(
            "70 train / 35 valid / 35 test samples, 140 channels, 35 classes, 101..101 steps"
        ),
        "{s}"
    );
    assert!(s.contains("D = 31"), "{s}");
    assert_eq!(summary(&out)["dataset"], "gsc");
}

#[test]
fn data_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    // Missing files name the file and how to get it.
    let err = stderr_of(spikedelay().args(["train", "--preset", "shd", "--data-dir", d]));
    assert!(
        err.contains("shd_train.h5") && err.contains("data download shd"),
        "{err}"
    );
    // A preset without a data folder.
    let err = stderr_of(spikedelay().args(["train", "--preset", "ssc"]));
    assert!(
        err.contains("data.dir") && err.contains("--data-dir"),
        "{err}"
    );
    let err = stderr_of(spikedelay().args(["train", "--preset", "timit", "--data-dir", d]));
    assert!(err.contains("--preset") && err.contains("timit"), "{err}");
    let err = stderr_of(spikedelay().args(["train", "--data-dir", d]));
    assert!(err.contains("--preset"), "{err}");
    // Inspecting garbage.
    let junk = dir.path().join("junk.h5");
    std::fs::write(&junk, b"junk").unwrap();
    let err = stderr_of(spikedelay().args(["data", "inspect", junk.to_str().unwrap()]));
    assert!(err.contains("junk.h5") && err.contains("HDF5"), "{err}");
    // An unreachable mirror: a clear message, nothing left behind but the folder.
    let target = dir.path().join("dl");
    let err = stderr_of(spikedelay().args([
        "data",
        "download",
        "shd",
        "--data-dir",
        target.to_str().unwrap(),
        "--mirror",
        "http://127.0.0.1:9",
    ]));
    assert!(
        err.contains("cannot reach") && err.contains("shd_train.h5.zip"),
        "{err}"
    );
}

/// `data cochlea` on single files: one `spikes.h5` sample per file that the `spike-file`
/// reader takes, `--stages` beside it, and errors that name the file or option.
#[test]
fn cochlea_turns_wav_files_into_a_spike_file() {
    use spikedelay::data::spikes::file::SpikeFile;
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tone.wav");
    let x: Vec<f32> = (0..800).map(|i| 0.3 * (i as f32 * 0.2).sin()).collect();
    spikedelay::data::audio::wav::write_wav_i16(&wav, &x, 16000).unwrap();
    let out = dir.path().join("out");
    let w = wav.to_str().unwrap();
    let o = out.to_str().unwrap();
    let stages = dir.path().join("stages.h5");
    let text = stdout_of(spikedelay().args([
        "data",
        "cochlea",
        w,
        w,
        "--out",
        o,
        "--channels",
        "32",
        "--sampler",
        "exact",
        "--seed",
        "4",
    ]));
    assert!(text.contains("spikes.h5 (2 samples"), "{text}");
    let err = stderr_of(spikedelay().args([
        "data",
        "cochlea",
        w,
        w,
        "--out",
        o,
        "--stages",
        stages.to_str().unwrap(),
    ]));
    assert!(err.contains("--stages takes one WAV file"), "{err}");
    let one = dir.path().join("one");
    stdout_of(spikedelay().args([
        "data",
        "cochlea",
        w,
        "--out",
        one.to_str().unwrap(),
        "--channels",
        "32",
        "--stages",
        stages.to_str().unwrap(),
    ]));
    assert!(stages.is_file());
    let f = SpikeFile::open(&out.join("spikes.h5")).unwrap();
    let (a, b) = (f.sample(0).unwrap(), f.sample(1).unwrap());
    assert!(a.times.len() > 20 && a.units.iter().all(|&u| u < 32));
    assert_ne!(a, b, "clip k is drawn with seed + k");
    let err = stderr_of(spikedelay().args(["data", "cochlea", "nope.wav", "--out", o]));
    assert!(err.contains("nope.wav"), "{err}");
    let err = stderr_of(spikedelay().args(["data", "cochlea", w, "--out", o, "--rate", "1000"]));
    assert!(err.contains("rate") && err.contains("1000"), "{err}");
    let err = stderr_of(spikedelay().args(["data", "cochlea", w, "--out", o, "--channels", "0"]));
    assert!(err.contains("channels"), "{err}");
}
