//! SHD/SSC files: the h5py-written fixture, our writer read back (published and wide types),
//! binning through the file, caches, and every kind of bad input.

use std::path::{Path, PathBuf};

use half::f16;
use hdf5_writer::{ByteOrder, DatasetBuilder, Datatype, Hdf5Builder, WriteOptions};
use spikedelay::data::Dataset;
use spikedelay::data::spikes::binning::{Binning, BinningMode};
use spikedelay::data::spikes::file::{SpikeFile, SpikeSample, TimeWidth};
use spikedelay::data::spikes::frames::{cache_path, load_spike_frames};
use spikedelay::data::spikes::writer::{
    SpeakerInfo, SpikeFileContents, SpikeFileTypes, write_spike_file,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/data")
        .join(name)
}

#[derive(serde::Deserialize)]
struct Expected {
    times: Vec<Vec<f64>>,
    units: Vec<Vec<u32>>,
    labels: Vec<u32>,
    speakers: Vec<u32>,
    keys: Vec<String>,
}

#[test]
fn h5py_fixture_is_read_exactly() {
    let want: Expected =
        serde_json::from_str(&std::fs::read_to_string(fixture("shd_h5py.json")).unwrap()).unwrap();
    let f = SpikeFile::open(&fixture("shd_h5py.h5")).unwrap();
    assert_eq!(f.time_width, TimeWidth::F16);
    assert_eq!(f.len(), want.labels.len());
    assert_eq!(f.labels, want.labels);
    assert_eq!(f.speakers.as_deref(), Some(&want.speakers[..]));
    assert_eq!(f.keys, want.keys);
    assert_eq!(f.classes(), 20);
    for i in 0..f.len() {
        let s = f.sample(i).unwrap();
        assert_eq!(s.times, want.times[i], "sample {i} times");
        assert_eq!(s.units, want.units[i], "sample {i} units");
    }
    // The §17.3 test vector, binned through the file.
    let s = f.sample(0).unwrap();
    let anchored = Binning::default();
    assert_eq!(
        anchored.frame_indices(&s.times, f.time_width),
        (vec![0, 0, 1, 1], 2)
    );
    let grid = Binning {
        mode: BinningMode::FixedGrid,
        ..Binning::default()
    };
    assert_eq!(
        grid.frame_indices(&s.times, f.time_width),
        (vec![0, 1, 1, 2], 3)
    );
}

/// The special samples of docs/datasets.md §1.5.
pub fn special_contents() -> SpikeFileContents {
    let samples = vec![
        SpikeSample {
            times: vec![0.0, 0.010, 0.0105, 0.0201],
            units: vec![3, 4, 699, 0],
        },
        SpikeSample::default(),
        SpikeSample {
            times: vec![0.25, 0.25, 0.26],
            units: vec![11, 10, 10],
        },
        SpikeSample {
            times: vec![0.5, 0.51, 0.52],
            units: vec![100, 100, 100],
        },
        SpikeSample {
            times: vec![1.2345, 1.4],
            units: vec![5, 6],
        },
    ];
    SpikeFileContents {
        labels: vec![0, 1, 2, 1, 0],
        speakers: vec![0, 1, 4, 5, 11],
        keys: vec!["zero".into(), "one".into(), "fünf".into()],
        meta_info: Some(SpeakerInfo {
            gender: vec!["male".into(); 12],
            age: vec![30; 12],
            body_height: vec![170; 12],
        }),
        samples,
    }
}

#[test]
fn written_files_read_back_in_published_and_wide_types() {
    let dir = tempfile::tempdir().unwrap();
    let c = special_contents();
    let wide = SpikeFileTypes {
        times: TimeWidth::F32,
        unit_bytes: 4,
        label_bytes: 1,
    };
    for (name, types) in [("pub.h5", SpikeFileTypes::PUBLISHED), ("wide.h5", wide)] {
        let path = dir.path().join(name);
        write_spike_file(&path, &c, types).unwrap();
        let f = SpikeFile::open(&path).unwrap();
        assert_eq!(f.time_width, types.times);
        assert_eq!(f.labels, c.labels);
        assert_eq!(f.speakers.as_deref(), Some(&c.speakers[..]));
        assert_eq!(f.keys, c.keys);
        for (i, want) in c.samples.iter().enumerate() {
            let got = f.sample(i).unwrap();
            let quantise = |t: f64| match types.times {
                TimeWidth::F16 => f16::from_f64(t).to_f64(),
                _ => t as f32 as f64,
            };
            let mut order: Vec<usize> = (0..want.times.len()).collect();
            order.sort_by(|&a, &b| {
                want.times[a]
                    .total_cmp(&want.times[b])
                    .then(want.units[a].cmp(&want.units[b]))
            });
            let times: Vec<f64> = order.iter().map(|&k| quantise(want.times[k])).collect();
            let units: Vec<u32> = order.iter().map(|&k| want.units[k]).collect();
            assert_eq!(got.times, times, "{name} sample {i}");
            assert_eq!(got.units, units, "{name} sample {i}");
        }
    }
    // Above 1 s, float16 quantises to about 1 ms (method §17.3).
    let f = SpikeFile::open(&dir.path().join("pub.h5")).unwrap();
    assert_eq!(f.sample(4).unwrap().times, vec![1.234375, 1.400390625]);
    // Ties are written in unit order.
    assert_eq!(f.sample(2).unwrap().units, vec![10, 11, 10]);
}

#[test]
fn frames_are_cached_and_rebuilt_when_the_source_changes() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("shd_train.h5");
    let c = special_contents();
    write_spike_file(&src, &c, SpikeFileTypes::PUBLISHED).unwrap();
    let cache_dir = dir.path().join("cache");
    let b = Binning::default();
    let first = load_spike_frames(&src, &cache_dir, &b, &mut ()).unwrap();
    let cached = cache_path(&src, &cache_dir, &b);
    assert!(cached.is_file());
    assert_eq!(
        std::fs::read_dir(&cache_dir).unwrap().count(),
        1,
        "no temporaries"
    );
    // Frames: sample 0 is {0,1} and {2,3} (event-anchored), pooled: units 3,4 → channel 0;
    // 699 → 139; 0 → 0.
    assert_eq!(first.steps(0), 2);
    let mut x = vec![0.0; 2 * 140];
    first.write_frames(0, &mut x);
    assert_eq!((x[0], x[140 + 139], x[140]), (2.0, 1.0, 1.0));
    assert_eq!(first.empty_samples(), 1);
    assert_eq!(first.steps(1), 1);
    assert_eq!(first.spikes(2), 3);
    // A second load reads the cache (a corrupt source would fail otherwise).
    let again = load_spike_frames(&src, &cache_dir, &b, &mut ()).unwrap();
    assert_eq!(again, first);
    // Another binning gets its own cache.
    let grid = Binning {
        mode: BinningMode::FixedGrid,
        ..b
    };
    let g = load_spike_frames(&src, &cache_dir, &grid, &mut ()).unwrap();
    assert_eq!(g.steps(0), 3);
    // A changed source invalidates the cache.
    let mut c2 = c.clone();
    c2.labels[0] = 2;
    std::thread::sleep(std::time::Duration::from_millis(20));
    write_spike_file(&src, &c2, SpikeFileTypes::PUBLISHED).unwrap();
    let changed = load_spike_frames(&src, &cache_dir, &b, &mut ()).unwrap();
    assert_eq!(changed.label(0), 2);
    // Same size and modification time, other content: the content sample notices.
    let len = std::fs::metadata(&src).unwrap().len();
    let stamp = std::fs::metadata(&src).unwrap().modified().unwrap();
    let mut c3 = c2.clone();
    c3.labels[0] = 1;
    write_spike_file(&src, &c3, SpikeFileTypes::PUBLISHED).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&src)
        .unwrap()
        .set_modified(stamp)
        .unwrap();
    assert_eq!(std::fs::metadata(&src).unwrap().len(), len);
    assert_eq!(std::fs::metadata(&src).unwrap().modified().unwrap(), stamp);
    let relabelled = load_spike_frames(&src, &cache_dir, &b, &mut ()).unwrap();
    assert_eq!(relabelled.label(0), 1);
    write_spike_file(&src, &c2, SpikeFileTypes::PUBLISHED).unwrap();
    let changed = load_spike_frames(&src, &cache_dir, &b, &mut ()).unwrap();
    // A corrupt cache is rebuilt, not trusted.
    std::fs::write(&cached, b"not a cache").unwrap();
    let rebuilt = load_spike_frames(&src, &cache_dir, &b, &mut ()).unwrap();
    assert_eq!(rebuilt, changed);
}

fn vlen(name: &str, base: Datatype, values: Vec<Vec<u8>>) -> DatasetBuilder {
    let n = values.len() as u64;
    DatasetBuilder::vlen_sequence_data(name, base, vec![n], values).unwrap()
}

fn f16_type() -> Datatype {
    Datatype::FloatingPoint {
        size: 2,
        byte_order: ByteOrder::LittleEndian,
    }
}

fn u16_type() -> Datatype {
    Datatype::FixedPoint {
        size: 2,
        signed: false,
        byte_order: ByteOrder::LittleEndian,
    }
}

fn times(v: &[f32]) -> Vec<u8> {
    v.iter()
        .flat_map(|&t| f16::from_f32(t).to_le_bytes())
        .collect()
}

fn units(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|u| u.to_le_bytes()).collect()
}

/// Writes a file with raw datasets (bypassing our writer's checks).
fn raw_file(path: &Path, t: Vec<Vec<u8>>, u: Vec<Vec<u8>>, labels: &[u16], drop_units: bool) {
    let mut b = Hdf5Builder::new().dataset(vlen("spikes/times", f16_type(), t));
    if !drop_units {
        b = b.dataset(vlen("spikes/units", u16_type(), u));
    }
    b = b
        .dataset(DatasetBuilder::typed_data("labels", vec![labels.len() as u64], labels).unwrap())
        .dataset(
            DatasetBuilder::typed_data("extra/speaker", vec![labels.len() as u64], labels).unwrap(),
        )
        .dataset(DatasetBuilder::vlen_string_data("extra/keys", vec![2], &["a", "b"]).unwrap());
    let bytes = b
        .into_plan()
        .unwrap()
        .encode(WriteOptions::default())
        .unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Loads `path` through the training pipeline and returns the error text.
fn load_error(path: &Path) -> String {
    let cache = path.parent().unwrap().join("cache");
    load_spike_frames(path, &cache, &Binning::default(), &mut ())
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_files_give_errors_naming_file_sample_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let ok_t = || vec![times(&[0.1, 0.2]), times(&[0.3])];
    let ok_u = || vec![units(&[1, 2]), units(&[3])];
    type Case = (
        &'static str,
        Vec<Vec<u8>>,
        Vec<Vec<u8>>,
        Vec<u16>,
        bool,
        Vec<&'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            "unit.h5",
            ok_t(),
            vec![units(&[1, 700]), units(&[3])],
            vec![0, 1],
            false,
            vec!["sample 0", "spikes/units", "700"],
        ),
        (
            "order.h5",
            vec![times(&[0.2, 0.1]), times(&[0.3])],
            ok_u(),
            vec![0, 1],
            false,
            vec!["sample 0", "spikes/times", "ascending"],
        ),
        (
            "length.h5",
            ok_t(),
            vec![units(&[1, 2]), units(&[3, 4])],
            vec![0, 1],
            false,
            vec!["sample 1", "spikes/times", "spikes/units"],
        ),
        (
            "label.h5",
            ok_t(),
            ok_u(),
            vec![0, 5],
            false,
            vec!["sample 1", "labels", "5"],
        ),
        (
            "missing.h5",
            ok_t(),
            ok_u(),
            vec![0, 1],
            true,
            vec!["spikes/units", "missing"],
        ),
        (
            "negative.h5",
            vec![times(&[-0.1, 0.2]), times(&[0.3])],
            ok_u(),
            vec![0, 1],
            false,
            vec!["sample 0", "spikes/times", "non-negative"],
        ),
    ];
    for (name, t, u, labels, drop_units, needles) in cases {
        raw_file(&p(name), t, u, &labels, drop_units);
        let err = load_error(&p(name));
        assert!(err.contains(name), "{name}: {err}");
        for n in needles {
            assert!(err.contains(n), "{name}: `{n}` not in: {err}");
        }
        // Nothing half-written in the cache.
        let cache = dir.path().join("cache");
        assert!(
            !cache.exists() || std::fs::read_dir(&cache).unwrap().count() == 0,
            "{name} left a cache"
        );
    }
    // Times in ms by mistake: 700 "s" is 70,000 fixed-grid frames.
    raw_file(
        &p("ms.h5"),
        vec![times(&[0.0, 700.0]), times(&[0.3])],
        ok_u(),
        &[0, 1],
        false,
    );
    let grid = Binning {
        mode: BinningMode::FixedGrid,
        ..Binning::default()
    };
    let err = load_spike_frames(&p("ms.h5"), &dir.path().join("cache"), &grid, &mut ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ms.h5") && err.contains("sample 0") && err.contains("seconds"),
        "{err}"
    );
    // Wrong dtype: integer times.
    let bytes = Hdf5Builder::new()
        .dataset(vlen("spikes/times", u16_type(), vec![units(&[1])]))
        .dataset(vlen("spikes/units", u16_type(), vec![units(&[1])]))
        .dataset(DatasetBuilder::typed_data("labels", vec![1], &[0u16]).unwrap())
        .into_plan()
        .unwrap()
        .encode(WriteOptions::default())
        .unwrap();
    std::fs::write(p("dtype.h5"), bytes).unwrap();
    let err = load_error(&p("dtype.h5"));
    assert!(
        err.contains("spikes/times") && err.contains("float"),
        "{err}"
    );
    // Truncated, garbage and missing files.
    let good = p("good.h5");
    write_spike_file(&good, &special_contents(), SpikeFileTypes::PUBLISHED).unwrap();
    let full = std::fs::read(&good).unwrap();
    for cut in [full.len() / 2, full.len() - 40, 100] {
        std::fs::write(p("cut.h5"), &full[..cut]).unwrap();
        let result = SpikeFile::open(&p("cut.h5"))
            .and_then(|f| (0..f.len()).try_for_each(|i| f.sample(i).map(|_| ())));
        let err = result.expect_err("truncated file must fail").to_string();
        assert!(err.contains("cut.h5"), "cut {cut}: {err}");
    }
    std::fs::write(p("junk.h5"), b"this is not an HDF5 file at all").unwrap();
    let err = load_error(&p("junk.h5"));
    assert!(err.contains("junk.h5") && err.contains("HDF5"), "{err}");
    let err = load_error(&p("absent.h5"));
    assert!(err.contains("absent.h5"), "{err}");
}

#[test]
fn damaged_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.h5");
    write_spike_file(&good, &special_contents(), SpikeFileTypes::PUBLISHED).unwrap();
    let full = std::fs::read(&good).unwrap();
    let bad = dir.path().join("bad.h5");
    let read_all = |p: &Path| {
        SpikeFile::open(p).and_then(|f| (0..f.len()).try_for_each(|i| f.sample(i).map(|_| ())))
    };
    let mut failures = 0;
    // Every truncation, and single corrupted bytes all over the file.
    let cuts = (0..full.len()).step_by(7);
    let flips = (0..full.len()).step_by(5).map(|i| (i, 0xA5u8));
    for (i, case) in cuts
        .map(|c| (c, None))
        .chain(flips.map(|(i, x)| (i, Some(x))))
        .enumerate()
    {
        let bytes = match case {
            (cut, None) => full[..cut].to_vec(),
            (at, Some(x)) => {
                let mut b = full.clone();
                b[at] ^= x;
                b
            }
        };
        std::fs::write(&bad, &bytes).unwrap();
        match read_all(&bad) {
            Ok(()) => {}
            Err(e) => {
                failures += 1;
                assert!(e.to_string().contains("bad.h5"), "case {i}: {e}");
            }
        }
    }
    assert!(failures > 100, "{failures}");
}
