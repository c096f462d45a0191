//! Checkpoints on disk: round trip, resumption, and clear errors for bad files.

use std::path::Path;

use spikedelay::model::{ConvPath, DelayMode};
use spikedelay::train::{Checkpoint, Existing, Trainer};

use crate::training::{small_config, splits_of};

fn fresh(delays: DelayMode, epochs: usize, out: &Path) -> Trainer {
    let config = small_config(delays, epochs);
    let splits = splits_of(&config);
    Trainer::new(config, splits.train.channels(), splits.train.classes())
        .unwrap()
        .with_output(out, Existing::Overwrite)
        .unwrap()
}

#[test]
fn checkpoint_round_trip_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    for delays in [DelayMode::Learned, DelayMode::Fixed, DelayMode::None] {
        let mut t = fresh(delays, 1, dir.path());
        let splits = splits_of(t.config());
        t.run(&splits, &mut ()).unwrap();
        let path = dir.path().join("last.safetensors");
        let back = Checkpoint::load(&path).unwrap();
        assert_eq!(&back.network, t.network(), "{delays:?}");
        assert_eq!(&back.config, t.config());
        assert!(back.optimizer.is_some() && back.progress.unwrap().epochs_done == 1);
        let best = Checkpoint::load(&dir.path().join("best.safetensors")).unwrap();
        assert!(best.optimizer.is_none());
    }
}

#[test]
fn the_configured_convolution_path_is_used_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(DelayMode::Learned, 1);
    config.model.conv_path = ConvPath::Events;
    let splits = splits_of(&config);
    let mut t = Trainer::new(config, splits.train.channels(), splits.train.classes())
        .unwrap()
        .with_output(dir.path(), Existing::Refuse)
        .unwrap();
    assert_eq!(t.network().conv_path, ConvPath::Events);
    t.run(&splits, &mut ()).unwrap();
    let back = Checkpoint::load(&dir.path().join("last.safetensors")).unwrap();
    assert_eq!(back.network.conv_path, ConvPath::Events);
    drop(t);
    assert_eq!(
        Trainer::resume(dir.path()).unwrap().network().conv_path,
        ConvPath::Events
    );
}

#[test]
fn resuming_continues_exactly_as_an_uninterrupted_run() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let mut straight = fresh(DelayMode::Learned, 4, a.path());
    let splits = splits_of(straight.config());
    let s1 = straight.run(&splits, &mut ()).unwrap();

    let mut first = fresh(DelayMode::Learned, 4, b.path());
    for e in 0..2 {
        first.train_epoch(e, &splits, &mut ()).unwrap();
    }
    drop(first);
    let mut resumed = Trainer::resume(b.path()).unwrap();
    assert_eq!(resumed.history().len(), 2);
    let s2 = resumed.run(&splits, &mut ()).unwrap();
    assert_eq!(resumed.network(), straight.network());
    let strip = |h: &[spikedelay::train::EpochMetrics]| -> Vec<(f64, f64, f64)> {
        h.iter()
            .map(|m| (m.train_loss, m.valid_accuracy, m.test_loss))
            .collect()
    };
    assert_eq!(strip(resumed.history()), strip(straight.history()));
    assert_eq!(
        (s1.test_accuracy, s1.best_epoch),
        (s2.test_accuracy, s2.best_epoch)
    );
    let lines = std::fs::read_to_string(b.path().join("metrics.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(lines, 4);
}

#[test]
fn summary_reports_selected_and_last_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = fresh(DelayMode::Learned, 3, dir.path());
    let splits = splits_of(t.config());
    t.run(&splits, &mut ()).unwrap();
    let text = std::fs::read_to_string(dir.path().join("summary.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let h = t.history();
    // Epochs count from 1 in the summary as in the records.
    let best = v["best_epoch"].as_u64().unwrap() as usize;
    assert_eq!(h[best - 1].epoch, best);
    assert_eq!(h.iter().map(|m| m.epoch).collect::<Vec<_>>(), [1, 2, 3]);
    let max_valid = h.iter().map(|m| m.valid_accuracy).fold(f64::MIN, f64::max);
    assert_eq!(h[best - 1].valid_accuracy, max_valid);
    assert_eq!(
        v["test_accuracy"].as_f64().unwrap(),
        h[best - 1].test_accuracy
    );
    assert_eq!(v["valid_correct"], h[best - 1].valid_correct);
    // What made the numbers: code, build, machine, data, evaluation and convolution paths.
    let p = &v["provenance"];
    assert_eq!(p["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        p["threads"].as_u64().unwrap() as usize,
        rayon::current_num_threads()
    );
    assert_eq!(p["device"], "cpu");
    assert_eq!(p["eval_steps"], "own");
    assert_eq!(p["data"].as_str().unwrap().len(), 16);
    assert!(["avx512", "avx2", "portable"].contains(&p["simd"].as_str().unwrap()));
    let layers = p["conv_paths"].as_array().unwrap();
    assert_eq!(layers.len(), t.network().blocks.len() + 1);
    let batches: u64 = layers[0]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(
        batches as usize,
        3 * splits.train.len().div_ceil(t.config().train.batch_size)
    );
    // The checkpoints carry it too.
    let ck = Checkpoint::load(&dir.path().join("last.safetensors")).unwrap();
    assert_eq!(ck.provenance.unwrap().data, p["data"].as_str().unwrap());
    assert_eq!(
        v["last_epoch_test_accuracy"].as_f64().unwrap(),
        h[2].test_accuracy
    );
    assert_eq!(v["delays"], "learned");
    assert_eq!(
        v["parameters"].as_u64().unwrap() as usize,
        t.network().parameter_count()
    );
    assert!(v["wall_seconds"].as_f64().unwrap() > 0.0);
    // nothing half-written is left behind
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !spikedelay::atomic_file::is_temporary(&name),
            "temporary file left: {name}"
        );
    }
}

#[test]
fn bad_checkpoints_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.safetensors");
    let err = Checkpoint::load(&missing).unwrap_err().to_string();
    assert!(err.contains("nope.safetensors"), "{err}");

    let garbage = dir.path().join("garbage.safetensors");
    std::fs::write(&garbage, b"this is not a checkpoint").unwrap();
    let err = Checkpoint::load(&garbage).unwrap_err().to_string();
    assert!(
        err.contains("garbage.safetensors") && err.contains("safetensors"),
        "{err}"
    );

    let mut t = fresh(DelayMode::Learned, 1, dir.path());
    let splits = splits_of(t.config());
    t.run(&splits, &mut ()).unwrap();
    let good = std::fs::read(dir.path().join("last.safetensors")).unwrap();
    let truncated = dir.path().join("truncated.safetensors");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let err = Checkpoint::load(&truncated).unwrap_err().to_string();
    assert!(err.contains("truncated.safetensors"), "{err}");

    // a valid safetensors file with the right metadata that lacks one tensor, and one with a
    // tensor of the wrong shape
    let st = safetensors::SafeTensors::deserialize(&good).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&good).unwrap();
    // Without the checksum, so that the structural checks are reached (a forged file with
    // the original checksum fails on the checksum first, which `a_damaged_*` tests).
    let mut meta = header.metadata().clone();
    if let Some(m) = meta.as_mut() {
        assert!(m.remove("checksum").is_some());
    }
    let kept: Vec<(String, safetensors::tensor::TensorView<'_>)> = st
        .tensors()
        .into_iter()
        .filter(|(n, _)| n != "layers.0.weight")
        .collect();
    let lacking = dir.path().join("lacking.safetensors");
    std::fs::write(
        &lacking,
        safetensors::serialize(kept, meta.clone()).unwrap(),
    )
    .unwrap();
    let err = Checkpoint::load(&lacking).unwrap_err().to_string();
    assert!(err.contains("missing tensor `layers.0.weight`"), "{err}");

    let bytes = [0u8; 8];
    let reshaped: Vec<(String, safetensors::tensor::TensorView<'_>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| {
            if n == "blocks.0.norm.gamma" {
                (
                    n,
                    safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &bytes)
                        .unwrap(),
                )
            } else {
                (n, v)
            }
        })
        .collect();
    let wrong = dir.path().join("wrong-shape.safetensors");
    std::fs::write(&wrong, safetensors::serialize(reshaped, meta).unwrap()).unwrap();
    let err = Checkpoint::load(&wrong).unwrap_err().to_string();
    assert!(
        err.contains("blocks.0.norm.gamma") && err.contains("[2]"),
        "{err}"
    );

    // an inconsistent network is refused at save time, not written
    let mut ck = Checkpoint::load(&dir.path().join("last.safetensors")).unwrap();
    ck.network.blocks[0].conv.weight.pop();
    let forged = dir.path().join("forged.safetensors");
    let err = ck.save(&forged).unwrap_err().to_string();
    assert!(err.contains("layers.0.weight"), "{err}");
    assert!(!forged.exists());
}

#[test]
fn resume_without_a_run_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Trainer::resume(dir.path())
        .err()
        .expect("no run to resume")
        .to_string();
    assert!(err.contains("last.safetensors"), "{err}");
}

#[test]
fn damaged_and_non_finite_checkpoints_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = fresh(DelayMode::Learned, 1, dir.path());
    let splits = splits_of(t.config());
    t.run(&splits, &mut ()).unwrap();
    let path = dir.path().join("best.safetensors");
    let good = std::fs::read(&path).unwrap();
    // One flipped bit in the last tensor's bytes: still a valid safetensors file.
    let mut bad = good.clone();
    let at = bad.len() - 3;
    bad[at] ^= 0x01;
    let damaged = dir.path().join("damaged.safetensors");
    std::fs::write(&damaged, &bad).unwrap();
    safetensors::SafeTensors::deserialize(&bad).unwrap();
    let err = Checkpoint::load(&damaged).unwrap_err().to_string();
    assert!(err.contains("checksum mismatch"), "{err}");

    let mut ck = Checkpoint::load(&path).unwrap();
    ck.network.blocks[0].norm.beta[1] = f32::INFINITY;
    let diverged = dir.path().join("diverged.safetensors");
    ck.save(&diverged).unwrap();
    let err = Checkpoint::load(&diverged).unwrap_err().to_string();
    assert!(
        err.contains("`blocks.0.norm.beta`") && err.contains("NaN or infinite"),
        "{err}"
    );
}
