//! Runs that must not be lost or misread (issue 16): divergence, two writers, replacing a run,
//! moved data, sizes that cannot fit, damaged checkpoints, and what `data` refuses to do.

mod common;

use std::path::Path;

use common::{make_shd, spikedelay, stderr_of, stdout_of, summary, tiny, write};

fn train_args(cfg: &Path, out: &Path) -> Vec<String> {
    vec![
        "train".into(),
        "--threads".into(),
        "1".into(),
        "--config".into(),
        cfg.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ]
}

#[test]
fn divergence_stops_the_run_naming_epoch_batch_and_tensor_and_keeps_the_last_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "tiny.toml", &tiny(4));
    let out = dir.path().join("run");
    // 3 batches per epoch: batch 8 of the process is the third epoch's second (counted from 1).
    let err = stderr_of(
        spikedelay()
            .args(train_args(&cfg, &out))
            .env(spikedelay::fault::POISON_ENV, "8"),
    );
    assert!(
        err.contains("epoch 3, batch 2")
            && err.contains("`layers.1.weight`")
            && err.contains("last checkpoint"),
        "{err}"
    );
    let ck = spikedelay::train::Checkpoint::load(&out.join("last.safetensors")).unwrap();
    assert_eq!(ck.progress.unwrap().epochs_done, 2);
    assert!(ck.network.first_non_finite().is_none());
    assert_eq!(
        std::fs::read_to_string(out.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        2
    );
    assert!(!out.join("summary.json").exists());
    // The saved epochs continue without the fault.
    stdout_of(
        spikedelay()
            .args(["train", "--resume", "--threads", "1", "--out"])
            .arg(&out),
    );
    assert_eq!(summary(&out)["epochs"], 4);

    // A learning rate that really diverges: stopped, exit 2, nothing non-finite written.
    let cfg = write(
        dir.path(),
        "wild.toml",
        &format!("{}max_lr = 1e30\n", tiny(4)),
    );
    let wild = dir.path().join("wild");
    let err = stderr_of(spikedelay().args(train_args(&cfg, &wild)));
    assert!(
        err.contains("training diverged") && err.contains("not finite"),
        "{err}"
    );
    let metrics = std::fs::read_to_string(wild.join("metrics.jsonl")).unwrap_or_default();
    assert!(!metrics.contains("null"), "{metrics}");
}

#[test]
fn non_finite_config_values_are_refused_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "inf.toml",
        &format!("{}weight_decay = inf\n", tiny(4)),
    );
    let err = stderr_of(spikedelay().args(train_args(&cfg, &dir.path().join("r"))));
    assert!(
        err.contains("train.weight_decay") && err.contains("finite"),
        "{err}"
    );
}

#[test]
fn a_second_writer_is_refused_and_a_finished_run_is_kept_unless_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "tiny.toml", &tiny(4));
    let out = dir.path().join("run");
    std::fs::create_dir_all(&out).unwrap();
    // Hold the lock as a running trainer would.
    let lock = spikedelay::train::RunDir::open(&out, spikedelay::train::Existing::Refuse).unwrap();
    let err = stderr_of(spikedelay().args(train_args(&cfg, &out)));
    let pid = std::process::id().to_string();
    assert!(
        err.contains(&pid) && err.contains("is writing to it"),
        "{err}"
    );
    let err = stderr_of(spikedelay().args(["train", "--resume", "--out"]).arg(&out));
    assert!(err.contains("is writing to it"), "{err}");
    drop(lock);

    stdout_of(spikedelay().args(train_args(&cfg, &out)));
    let first = std::fs::read(out.join("last.safetensors")).unwrap();
    let err = stderr_of(spikedelay().args(train_args(&cfg, &out)));
    assert!(
        err.contains("holds a run") && err.contains("--resume") && err.contains("--overwrite"),
        "{err}"
    );
    assert_eq!(std::fs::read(out.join("last.safetensors")).unwrap(), first);

    // --overwrite replaces it: a 2-epoch run leaves no trace of the 4-epoch one.
    let mut args = train_args(&cfg, &out);
    args.extend(["--overwrite".into(), "--epochs".into(), "2".into()]);
    stdout_of(spikedelay().args(&args));
    assert_eq!(summary(&out)["epochs"], 2);
    let lines = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 2);
    let err = stderr_of(
        spikedelay()
            .args(["train", "--resume", "--overwrite", "--out"])
            .arg(&out),
    );
    assert!(
        err.contains("--overwrite") && err.contains("--resume"),
        "{err}"
    );
}

#[test]
fn a_run_on_relative_data_is_evaluated_and_resumed_from_elsewhere_and_after_a_move() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    stdout_of(
        spikedelay()
            .current_dir(&work)
            .args(["data", "make-synthetic", "--format", "shd", "shd"])
            .args(["--train-per-class", "10", "--test-per-class", "3"]),
    );
    let cfg = write(
        &work,
        "shd.toml",
        "[model]\nhidden = [8]\n[train]\nepochs = 2\nbatch_size = 32\n",
    );
    stdout_of(
        spikedelay()
            .current_dir(&work)
            .args(["train", "--preset", "shd", "--data-dir", "shd", "--config"])
            .arg(&cfg)
            .args(["--threads", "1", "--out", "run"]),
    );
    let stored = std::fs::read_to_string(work.join("run/config.toml")).unwrap();
    assert!(
        stored.contains(&work.join("shd").display().to_string()),
        "{stored}"
    );
    // From another folder.
    let ck = work.join("run/best.safetensors");
    let text = stdout_of(
        spikedelay()
            .current_dir(dir.path())
            .args(["eval", "--checkpoint"])
            .arg(&ck),
    );
    assert!(text.contains("test: accuracy"), "{text}");
    // After the data moved: eval and resume take --data-dir.
    let moved = dir.path().join("moved");
    std::fs::rename(work.join("shd"), &moved).unwrap();
    let err = stderr_of(spikedelay().args(["eval", "--checkpoint"]).arg(&ck));
    assert!(
        err.contains("shd_train.h5") || err.contains("not found"),
        "{err}"
    );
    let text = stdout_of(
        spikedelay()
            .args(["eval", "--checkpoint"])
            .arg(&ck)
            .arg("--data-dir")
            .arg(&moved),
    );
    assert!(text.contains("test: accuracy"), "{text}");
    stdout_of(
        spikedelay()
            .args(["train", "--resume", "--threads", "1", "--out"])
            .arg(work.join("run"))
            .arg("--data-dir")
            .arg(&moved),
    );
    assert_eq!(summary(&work.join("run"))["epochs"], 2);
}

#[test]
fn sizes_that_cannot_fit_are_refused_naming_the_fields() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[model]\nhidden = [100000, 100000]\n", "model.hidden"),
        ("[model]\nkernel_count = 1000000\n", "model.kernel_count"),
        ("[model]\nmax_delay_ms = 1e9\n", "model.max_delay_ms"),
        (
            "[data]\ntrain_samples = 1000000000000\n",
            "data.train_samples",
        ),
    ];
    for (i, (text, field)) in cases.into_iter().enumerate() {
        let cfg = write(dir.path(), &format!("big{i}.toml"), text);
        let out = dir.path().join(format!("big{i}"));
        let err = stderr_of(
            spikedelay()
                .args(train_args(&cfg, &out))
                .env(spikedelay::memory::LIMIT_ENV, "4G"),
        );
        assert!(
            err.contains("needs an estimated") && err.contains(field) && err.contains("4.0 GiB"),
            "{text}: {err}"
        );
        assert!(!out.join("last.safetensors").exists());
    }
}

#[test]
fn a_damaged_checkpoint_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "tiny.toml", &tiny(4));
    let out = dir.path().join("run");
    let mut args = train_args(&cfg, &out);
    args.extend(["--epochs".into(), "1".into()]);
    stdout_of(spikedelay().args(&args));
    let ck = out.join("best.safetensors");
    let mut bytes = std::fs::read(&ck).unwrap();
    let at = bytes.len() - 7;
    bytes[at] ^= 0x10;
    let damaged = dir.path().join("damaged.safetensors");
    std::fs::write(&damaged, bytes).unwrap();
    let err = stderr_of(spikedelay().args(["eval", "--checkpoint"]).arg(&damaged));
    assert!(
        err.contains("checksum mismatch") && err.contains("damaged"),
        "{err}"
    );
}

#[test]
fn make_synthetic_never_replaces_files_without_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("shd");
    let make = |extra: &[&str]| {
        let mut c = spikedelay();
        c.args(["data", "make-synthetic", "--format", "shd"])
            .arg(&data)
            .args(["--train-per-class", "2", "--test-per-class", "1"])
            .args(extra);
        c
    };
    stdout_of(&mut make(&[]));
    let before = std::fs::read(data.join("shd_train.h5")).unwrap();
    let err = stderr_of(&mut make(&["--seed", "5"]));
    assert!(
        err.contains("shd_train.h5") && err.contains("--overwrite"),
        "{err}"
    );
    assert_eq!(std::fs::read(data.join("shd_train.h5")).unwrap(), before);
    stdout_of(&mut make(&["--seed", "5", "--overwrite"]));
    assert_ne!(std::fs::read(data.join("shd_train.h5")).unwrap(), before);

    let gsc = dir.path().join("gsc");
    let make_gsc = |extra: &[&str]| {
        let mut c = spikedelay();
        c.args(["data", "make-synthetic", "--format", "gsc"])
            .arg(&gsc)
            .args(["--speakers", "3"])
            .args(extra);
        c
    };
    stdout_of(&mut make_gsc(&[]));
    let err = stderr_of(&mut make_gsc(&[]));
    assert!(err.contains("--overwrite"), "{err}");
    stdout_of(&mut make_gsc(&["--overwrite"]));
}

#[test]
fn inspect_reports_json_folders_of_spike_files_and_fails_on_problems() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("shd");
    make_shd(&data, 2);
    // A folder of spike files is inspected file by file, not as an audio folder.
    let text = stdout_of(spikedelay().args(["data", "inspect"]).arg(&data));
    assert!(
        text.contains("shd_test.h5") && text.contains("shd_train.h5") && !text.contains("audio"),
        "{text}"
    );
    let json = stdout_of(
        spikedelay()
            .args(["data", "inspect", "--json"])
            .arg(data.join("shd_train.h5")),
    );
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["kind"], "spike-file");
    assert_eq!(v["samples"], 40);
    assert_eq!(v["problem_count"], 0);
    // A clip that is not a WAV file: the report lists it, then inspect fails.
    let gsc = dir.path().join("gsc");
    common::make_gsc(&gsc, 3);
    let clip = std::fs::read_dir(gsc.join("yes"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&clip, b"not audio").unwrap();
    let out = spikedelay()
        .args(["data", "inspect", "--json"])
        .arg(&gsc)
        .assert()
        .failure()
        .code(2)
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["kind"].as_str(), v["problem_count"].as_u64()),
        (Some("audio-folder"), Some(1))
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("1 problem(s)"), "{err}");
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("shd");
    make_shd(&data, 2);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("spikedelay"))
        .args(["data", "inspect"])
        .arg(data.join("shd_train.h5"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
}

/// Errors a user can act on: the cause of an I/O failure is shown, truncated files are called
/// truncated, hints come with the error's kind (and only then), an empty split is a problem
/// `inspect` names with its fix, and a run folder stands for its best checkpoint.
#[test]
fn errors_keep_their_cause_say_truncated_and_hint_by_kind() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "tiny.toml", &tiny(2));
    let out = dir.path().join("run");
    stdout_of(spikedelay().args(train_args(&cfg, &out)));
    // A run folder where a checkpoint is expected: its best checkpoint.
    let text = stdout_of(spikedelay().args(["eval", "--checkpoint"]).arg(&out));
    assert!(text.contains("best.safetensors"), "{text}");
    // The cause of a failed write, and no unrelated hint.
    let err = stderr_of(
        spikedelay()
            .args(["export", "--format", "nir", "--no-eval", "--checkpoint"])
            .arg(&out)
            .arg("--out")
            .arg(dir.path().join("no/such/folder/net.nir")),
    );
    assert!(
        err.contains("no/such/folder") && err.contains("No such file or directory"),
        "{err}"
    );
    assert!(
        !err.contains("hint") && !err.contains("--clip-delays"),
        "{err}"
    );
    // Truncated checkpoints and HDF5 files are called truncated.
    let whole = std::fs::read(out.join("best.safetensors")).unwrap();
    let cut = write(dir.path(), "cut.safetensors", "");
    std::fs::write(&cut, &whole[..whole.len() - 100]).unwrap();
    let err = stderr_of(spikedelay().args(["eval", "--checkpoint"]).arg(&cut));
    assert!(
        err.contains("cut.safetensors: truncated") && err.contains(&whole.len().to_string()),
        "{err}"
    );
    let shd = dir.path().join("shd");
    make_shd(&shd, 2);
    let h5 = std::fs::read(shd.join("shd_test.h5")).unwrap();
    std::fs::write(shd.join("shd_test.h5"), &h5[..h5.len() / 2]).unwrap();
    let err = stderr_of(
        spikedelay()
            .args(["data", "inspect"])
            .arg(shd.join("shd_test.h5")),
    );
    assert!(err.contains("shd_test.h5: truncated"), "{err}");
    // Hints by kind.
    let err = stderr_of(
        spikedelay()
            .args(["train", "--resume", "--out"])
            .arg(dir.path().join("never")),
    );
    assert!(
        err.contains("nothing to resume yet") && err.contains("hint: train without --resume"),
        "{err}"
    );
    let err = stderr_of(spikedelay().args(train_args(&cfg, &out)));
    assert!(
        err.contains("holds a run") && err.contains("hint: continue it with --resume"),
        "{err}"
    );
    let err = stderr_of(spikedelay().args(["train", "--preset", "shd"]));
    assert!(
        err.contains("`data.dir`") && err.contains("hint: pass --data-dir DIR"),
        "{err}"
    );
    // An audio folder whose validation split is empty: a problem, with the fix.
    let gsc = dir.path().join("gsc");
    common::make_gsc(&gsc, 3);
    std::fs::write(gsc.join("validation_list.txt"), "").unwrap();
    let out = spikedelay()
        .args(["data", "inspect"])
        .arg(&gsc)
        .assert()
        .failure()
        .code(2)
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("the validation split is empty") && text.contains("validation_list.txt"),
        "{text}"
    );
}
