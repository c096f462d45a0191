//! GSC: log-mel parity with torchaudio on committed fixtures, WAV decoding of other formats,
//! the folder layout and its splits, feature caches, and bad input.

use std::path::{Path, PathBuf};

use safetensors::SafeTensors;
use spikedelay::Result;
use spikedelay::data::audio::features::{AudioFeatures, FeatureSettings, load_features};
use spikedelay::data::audio::folder::{AudioLayout, AudioSplit};
use spikedelay::data::audio::log_mel::{CLIP_SAMPLES, FRAMES, LogMel, MELS, REFERENCE_F_MAX};
use spikedelay::data::audio::source::GSC_WORDS;
use spikedelay::data::audio::{features::clip_features, wav::read_wav};
use spikedelay::data::synthetic::gsc::SyntheticGsc;
use spikedelay::data::{AudioFolderConfig, Dataset};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/data")
        .join(name)
}

/// `root` scanned as GSC (its 35 words).
fn scan_gsc(root: &Path) -> Result<AudioLayout> {
    AudioFolderConfig {
        dir: Some(root.to_path_buf()),
        ..AudioFolderConfig::gsc()
    }
    .layout()
}

/// The reference's features of one split of 1-s clips.
fn gsc_features(
    layout: &AudioLayout,
    split: &AudioSplit,
    name: &str,
    cache: &Path,
) -> Result<AudioFeatures> {
    let settings = FeatureSettings {
        clip_samples: CLIP_SAMPLES,
        f_max: REFERENCE_F_MAX,
    };
    load_features(layout, split, name, cache, settings, &mut ())
}

#[test]
fn log_mel_matches_torchaudio_within_a_thousandth_of_a_db() {
    let bytes = std::fs::read(fixture("logmel.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut checked = 0;
    for f_max in [14000.0, 4000.0] {
        let lm = LogMel::new(f_max);
        for clip in ["full", "short", "long", "stereo22k"] {
            let ours = clip_features(&fixture(&format!("gsc/{clip}.wav")), &lm).unwrap();
            let t = st.tensor(&format!("{clip}.fmax{f_max}")).unwrap();
            assert_eq!(t.shape(), [FRAMES, MELS]);
            let want: Vec<f32> = t
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            // |Δ| per bin, and whether the bin is within 60 dB of its frame's maximum.
            let mut worst = 0.0f32;
            let mut worst_loud = 0.0f32;
            for (o, w) in ours.chunks(MELS).zip(want.chunks(MELS)) {
                let top = w.iter().fold(f32::MIN, |a, &b| a.max(b));
                for (a, b) in o.iter().zip(w) {
                    let d = (a - b).abs();
                    worst = worst.max(d);
                    if *b > top - 60.0 {
                        worst_loud = worst_loud.max(d);
                    }
                }
            }
            if clip == "stereo22k" {
                // Bringing 22.05 kHz to 16 kHz is outside the reference chain; it follows
                // torchaudio.functional.resample to float32 rounding, which shows only in bins
                // ~75 dB below their frame's maximum.
                assert!(worst_loud < 1e-3, "{clip} f_max {f_max}: {worst_loud} dB");
                assert!(worst < 5e-3, "{clip} f_max {f_max}: worst |Δ| = {worst} dB");
            } else {
                assert!(worst < 1e-3, "{clip} f_max {f_max}: worst |Δ| = {worst} dB");
            }
            // The clip is not silent: many bins are far above the floor.
            assert!(want.iter().filter(|&&v| v > -40.0).count() > 1000, "{clip}");
            checked += 1;
        }
    }
    assert_eq!(checked, 8);
}

#[test]
fn wav_formats_decode_to_the_same_scale() {
    let dir = tempfile::tempdir().unwrap();
    let samples = [0.5f64, -0.25, 0.0, -1.0];
    for (bits, channels) in [(8u16, 1u16), (16, 2), (24, 1), (32, 2)] {
        let spec = hound::WavSpec {
            channels,
            sample_rate: 11_025,
            bits_per_sample: bits,
            sample_format: hound::SampleFormat::Int,
        };
        let path = dir.path().join(format!("{bits}-{channels}.wav"));
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        let full = (1i64 << (bits - 1)) as f64;
        for &s in &samples {
            for c in 0..channels {
                // The second channel is silent: the downmix halves the value.
                let v = if c == 0 { s } else { 0.0 };
                let q = (v * full).round().clamp(-full, full - 1.0);
                if bits == 8 {
                    w.write_sample(q as i8).unwrap();
                } else {
                    w.write_sample(q as i32).unwrap();
                }
            }
        }
        w.finalize().unwrap();
        let a = read_wav(&path).unwrap();
        assert_eq!(a.sample_rate, 11_025);
        let want: Vec<f32> = samples
            .iter()
            .map(|&s| (s / channels as f64) as f32)
            .collect();
        for (g, w) in a.samples.iter().zip(&want) {
            assert!((g - w).abs() < 1e-2, "{bits} bit × {channels}: {g} vs {w}");
        }
    }
    // Not a WAV, and a WAV cut inside its data chunk.
    std::fs::write(dir.path().join("junk.wav"), b"RIFF....WAVEjunk").unwrap();
    let err = read_wav(&dir.path().join("junk.wav"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("junk.wav") && err.contains("WAV"), "{err}");
    let full = std::fs::read(fixture("gsc/full.wav")).unwrap();
    std::fs::write(dir.path().join("cut.wav"), &full[..30]).unwrap();
    let err = read_wav(&dir.path().join("cut.wav"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("cut.wav"), "{err}");
}

#[test]
fn synthetic_folder_has_the_gsc_layout_and_splits() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("gsc");
    let clips = SyntheticGsc {
        speakers: 10,
        seed: 3,
    }
    .write(&root)
    .unwrap();
    assert_eq!(clips, 350);
    let layout = scan_gsc(&root).unwrap();
    let (tr, va, te) = (&layout.training, &layout.validation, &layout.testing);
    assert_eq!(
        (tr.files.len(), va.files.len(), te.files.len()),
        (280, 35, 35)
    );
    // Speakers never straddle splits; training is sorted; the noise folder is skipped.
    let speaker = |f: &String| {
        f.split('/')
            .nth(1)
            .unwrap()
            .split('_')
            .next()
            .unwrap()
            .to_string()
    };
    for f in va.files.iter().chain(&te.files) {
        assert!(!tr.files.iter().any(|g| speaker(g) == speaker(f)));
    }
    assert!(tr.files.windows(2).all(|w| w[0] < w[1]));
    assert!(
        tr.files
            .iter()
            .all(|f| !f.starts_with("_background_noise_"))
    );
    for (f, &l) in tr.files.iter().zip(&tr.labels) {
        assert_eq!(f.split('/').next().unwrap(), GSC_WORDS[l as usize]);
    }
    // Features: computed once, then read from the cache.
    let cache = dir.path().join("cache");
    let feats = gsc_features(&layout, va, "validation", &cache).unwrap();
    assert_eq!(
        (feats.len(), feats.steps(0), feats.channels()),
        (35, FRAMES, MELS)
    );
    let mut x = vec![0.0; FRAMES * MELS];
    feats.write_frames(3, &mut x);
    let direct = clip_features(&root.join(&va.files[3]), &LogMel::new(REFERENCE_F_MAX)).unwrap();
    assert_eq!(x, direct);
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1);
    let again = gsc_features(&layout, va, "validation", &cache).unwrap();
    assert_eq!(again, feats);
}

#[test]
fn bad_gsc_folders_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("gsc");
    SyntheticGsc {
        speakers: 3,
        seed: 1,
    }
    .write(&root)
    .unwrap();
    let layout = scan_gsc(&root).unwrap();
    // A corrupt clip: the error names it.
    let victim = root.join(&layout.testing.files[0]);
    std::fs::write(&victim, b"garbage").unwrap();
    let err = gsc_features(
        &layout,
        &layout.testing,
        "testing",
        &dir.path().join("cache"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains(&layout.testing.files[0]), "{err}");
    assert!(
        !dir.path().join("cache").exists()
            || std::fs::read_dir(dir.path().join("cache")).unwrap().count() == 0
    );
    // An unknown word folder listed in a split.
    std::fs::create_dir_all(root.join("banana")).unwrap();
    std::fs::copy(
        root.join(&layout.training.files[0]),
        root.join("banana/x_nohash_0.wav"),
    )
    .unwrap();
    let err = scan_gsc(&root).unwrap_err().to_string();
    assert!(err.contains("banana"), "{err}");
    std::fs::remove_dir_all(root.join("banana")).unwrap();
    // A list naming a missing clip, then a missing list.
    std::fs::write(root.join("testing_list.txt"), "yes/nobody_nohash_0.wav\n").unwrap();
    let err = scan_gsc(&root).unwrap_err().to_string();
    assert!(
        err.contains("testing_list.txt line 1") && err.contains("nobody"),
        "{err}"
    );
    std::fs::remove_file(root.join("validation_list.txt")).unwrap();
    let err = scan_gsc(&root).unwrap_err().to_string();
    assert!(err.contains("validation_list.txt"), "{err}");
}
