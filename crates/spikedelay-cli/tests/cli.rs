//! The command line end to end on tiny built-in tasks: outputs on disk, evaluation, resumption,
//! and clear errors for bad options, configs and files.

mod common;
use common::{spikedelay, stderr_of, tiny, write};

#[test]
fn train_writes_checkpoints_metrics_and_summary_then_eval_and_resume_work() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "tiny.toml", &tiny(3));
    let out = dir.path().join("run");
    let assert = spikedelay()
        .args([
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--threads",
            "2",
        ])
        .assert()
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let epochs: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("epoch"))
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(epochs, ["1/3", "2/3", "3/3"], "{stdout}");
    assert!(stdout.contains("test accuracy"), "{stdout}");
    for f in [
        "last.safetensors",
        "best.safetensors",
        "metrics.jsonl",
        "summary.json",
        "config.toml",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains(".tmp-")),
        "temporary files left: {names:?}"
    );
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 3);
    let first: serde_json::Value = serde_json::from_str(metrics.lines().next().unwrap()).unwrap();
    for key in [
        "train_loss",
        "train_accuracy",
        "valid_accuracy",
        "sigma",
        "lr_weights",
        "lr_positions",
        "spike_rates",
        "seconds",
    ] {
        assert!(first.get(key).is_some(), "metrics lack {key}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    for key in [
        "test_accuracy",
        "last_epoch_test_accuracy",
        "best_epoch",
        "wall_seconds",
        "delays",
        "parameters",
    ] {
        assert!(summary.get(key).is_some(), "summary lacks {key}");
    }
    // the resolved config round-trips as a --config file
    let resolved = out.join("config.toml");
    spikedelay()
        .args([
            "train",
            "--config",
            resolved.to_str().unwrap(),
            "--epochs",
            "1",
            "--out",
            dir.path().join("again").to_str().unwrap(),
        ])
        .assert()
        .success();

    let ck = out.join("best.safetensors");
    let eval = spikedelay()
        .args(["eval", "--checkpoint", ck.to_str().unwrap()])
        .assert()
        .success();
    let text = String::from_utf8(eval.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("test: accuracy") && text.contains("integer delays"),
        "{text}"
    );

    // resuming a finished run trains nothing more and keeps the records
    spikedelay()
        .args(["train", "--resume", "--out", out.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(out.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        3
    );
    let err = stderr_of(spikedelay().args([
        "train",
        "--resume",
        "--epochs",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(
        err.contains("--resume") && err.contains("--epochs"),
        "{err}"
    );
    let err = stderr_of(spikedelay().args([
        "train",
        "--resume",
        "--conv-path",
        "gemm",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(err.contains("--conv-path"), "{err}");
}

#[test]
fn bad_options_are_named() {
    let err = String::from_utf8(
        spikedelay()
            .args(["train", "--delays", "sometimes"])
            .assert()
            .failure()
            .get_output()
            .stderr
            .clone(),
    )
    .unwrap();
    assert!(
        err.contains("sometimes") && err.contains("learned") && err.contains("constant-sigma"),
        "{err}"
    );
    let err = stderr_of(spikedelay().args(["train", "--epochs", "0"]));
    assert!(err.contains("--epochs"), "{err}");
    let err = stderr_of(spikedelay().args(["train", "--threads", "0", "--epochs", "1"]));
    assert!(err.contains("--threads"), "{err}");
}

#[test]
fn bad_configs_are_named_and_leave_nothing_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let cases = [
        (
            "unknown.toml",
            "[model]\nhidden_layers = [3]\n",
            "hidden_layers",
        ),
        (
            "delay.toml",
            "[model]\nmax_delay_ms = 5.0\n",
            "model.max_delay_ms",
        ),
        ("tau.toml", "[model]\ntau_ms = 8.0\n", "model.tau_ms"),
        ("ablation.toml", "[model]\ndelays = \"random\"\n", "random"),
        ("type.toml", "[train]\nepochs = \"many\"\n", "epochs"),
    ];
    for (name, text, needle) in cases {
        let cfg = write(dir.path(), name, text);
        let err = stderr_of(spikedelay().args([
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]));
        assert!(err.contains(needle), "{name}: {err}");
        assert!(
            err.contains(name) || needle.starts_with("model."),
            "{name}: error should name the file: {err}"
        );
        assert!(
            !out.exists(),
            "{name}: output directory created for a bad config"
        );
    }
    let err = stderr_of(spikedelay().args([
        "train",
        "--config",
        dir.path().join("absent.toml").to_str().unwrap(),
    ]));
    assert!(err.contains("absent.toml"), "{err}");
}

#[test]
fn unreadable_checkpoints_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = stderr_of(spikedelay().args([
        "eval",
        "--checkpoint",
        dir.path().join("gone.safetensors").to_str().unwrap(),
    ]));
    assert!(err.contains("gone.safetensors"), "{err}");
    let bad = write(dir.path(), "bad.safetensors", "not a checkpoint at all");
    let err = stderr_of(spikedelay().args(["eval", "--checkpoint", bad.to_str().unwrap()]));
    assert!(
        err.contains("bad.safetensors") && err.contains("safetensors"),
        "{err}"
    );
    let err =
        stderr_of(spikedelay().args(["train", "--resume", "--out", dir.path().to_str().unwrap()]));
    assert!(
        err.contains("last.safetensors") && err.contains("nothing to resume yet"),
        "{err}"
    );
}

#[test]
fn bench_writes_its_input_and_names_bad_options() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("shd.safetensors");
    spikedelay()
        .args([
            "bench",
            "--workload",
            "shd",
            "--write-input",
            p.to_str().unwrap(),
        ])
        .assert()
        .success();
    assert!(p.is_file());
    let err = stderr_of(spikedelay().args(["bench", "--workload", "mnist"]));
    assert!(err.contains("--workload") && err.contains("mnist"), "{err}");
    let err = stderr_of(spikedelay().args(["bench", "--phase", "warmup"]));
    assert!(err.contains("--phase") && err.contains("warmup"), "{err}");
    let err = stderr_of(spikedelay().args(["bench", "--conv-path", "sparse"]));
    assert!(
        err.contains("--conv-path") && err.contains("narrow"),
        "{err}"
    );
    let err = stderr_of(spikedelay().args([
        "bench",
        "--workload",
        "shd,ssc",
        "--write-input",
        p.to_str().unwrap(),
    ]));
    assert!(err.contains("--write-input"), "{err}");
    let err = stderr_of(spikedelay().args(["bench", "--sigma", "0.1"]));
    assert!(err.contains("--sigma 0.1") && err.contains("0.27"), "{err}");
    let err = stderr_of(spikedelay().args(["bench", "--phase", "infer", "--sigma", "1.5"]));
    assert!(err.contains("--sigma") && err.contains("train-*"), "{err}");
}

#[test]
fn eval_reports_correct_over_total_with_per_class_results() {
    let dir = tempfile::tempdir().unwrap();
    // 300 test samples in batches of 64: the last batch holds 44.
    let cfg = write(
        dir.path(),
        "t.toml",
        &tiny(3)
            .replace("test_samples = 48", "test_samples = 300")
            .replace("batch_size = 32", "batch_size = 64"),
    );
    let out = dir.path().join("run");
    spikedelay()
        .args(["train", "--config", cfg.to_str().unwrap(), "--out"])
        .arg(&out)
        .args(["--epochs", "2"])
        .assert()
        .success();
    let ck = out.join("best.safetensors");
    let json = spikedelay()
        .args(["eval", "--json", "--checkpoint"])
        .arg(&ck)
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    let test = &v["test"];
    let correct = test["correct"].as_u64().unwrap();
    assert_eq!(test["samples"].as_u64(), Some(300));
    assert_eq!(test["accuracy"].as_f64().unwrap(), correct as f64 / 300.0);
    let confusion = test["confusion"].as_array().unwrap();
    assert_eq!(confusion.len(), 4);
    let cell = |y: usize, p: usize| confusion[y][p].as_u64().unwrap();
    assert_eq!((0..4).map(|c| cell(c, c)).sum::<u64>(), correct);
    assert_eq!(
        (0..4)
            .flat_map(|y| (0..4).map(move |p| (y, p)))
            .map(|(y, p)| cell(y, p))
            .sum::<u64>(),
        300
    );
    let per_class = test["per_class_accuracy"].as_array().unwrap();
    for (c, a) in per_class.iter().enumerate() {
        let n: u64 = (0..4).map(|p| cell(c, p)).sum();
        assert_eq!(a.as_f64().unwrap(), cell(c, c) as f64 / n as f64);
    }
    // The best checkpoint at the training batch size reproduces the summary exactly.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["test_correct"].as_u64(), Some(correct));
    assert_eq!(summary["test_samples"].as_u64(), Some(300));
    assert_eq!(summary["test_accuracy"], test["accuracy"]);
    // Text output names the count; another batch size changes nothing but the batch mean.
    let text = spikedelay()
        .args(["eval", "--batch-size", "7", "--checkpoint"])
        .arg(&ck)
        .assert()
        .success();
    let text = String::from_utf8(text.get_output().stdout.clone()).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("test:"))
        .unwrap();
    assert!(
        line.contains(&format!("({correct}/300)"))
            && line.contains(&format!("{:.2}%", 100.0 * correct as f64 / 300.0)),
        "{line}"
    );
}

#[test]
fn seeds_run_into_their_own_folders_and_aggregate_as_mean_and_sample_std() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "t.toml", &tiny(3));
    let out = dir.path().join("multi");
    let args = [
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--seeds",
        "0,1,2",
        "--out",
        out.to_str().unwrap(),
    ];
    spikedelay().args(args).assert().success();
    let json = |p: std::path::PathBuf| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let agg = json(out.join("aggregate.json"));
    for key in [
        "test_accuracy",
        "last_epoch_test_accuracy",
        "best_valid_accuracy",
        "wall_seconds",
    ] {
        let v: Vec<f64> = (0..3)
            .map(|k| {
                json(out.join(format!("seed{k}/summary.json")))[key]
                    .as_f64()
                    .unwrap()
            })
            .collect();
        let mean = v.iter().sum::<f64>() / 3.0;
        let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
        assert!(
            (agg[key]["mean"].as_f64().unwrap() - mean).abs() < 1e-12,
            "{key}"
        );
        assert!(
            (agg[key]["std"].as_f64().unwrap() - std).abs() < 1e-12,
            "{key}"
        );
    }
    assert_eq!(agg["seeds"], serde_json::json!([0, 1, 2]));
    let seed1 = json(out.join("seed1/summary.json"));
    assert_eq!(seed1["seed"], 1);
    // A rerun skips every finished seed and writes the same aggregate.
    let again = spikedelay().args(args).assert().success();
    let text = String::from_utf8(again.get_output().stdout.clone()).unwrap();
    assert_eq!(text.matches("skipped").count(), 3, "{text}");
    assert_eq!(json(out.join("aggregate.json")), agg);
    // The report: the three seeds as mean ± std, one seed alone, written to a file too.
    let table_file = dir.path().join("report.md");
    let shown = spikedelay()
        .args(["report", out.to_str().unwrap()])
        .arg(out.join("seed1"))
        .args(["--out", table_file.to_str().unwrap()])
        .assert()
        .success();
    let table = String::from_utf8(shown.get_output().stdout.clone()).unwrap();
    assert_eq!(std::fs::read_to_string(&table_file).unwrap(), table);
    let mean = format!(
        "{:.2} ± {:.2} %",
        100.0 * agg["test_accuracy"]["mean"].as_f64().unwrap(),
        100.0 * agg["test_accuracy"]["std"].as_f64().unwrap()
    );
    let (results, provenance) = table.split_once("\n\n").unwrap();
    let rows: Vec<&str> = results.lines().skip(2).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(
        rows[0].contains(&mean) && rows[0].contains("| 3 |"),
        "{table}"
    );
    // Every seed's selected epoch (counted from 1) and correct/total.
    let seeds: Vec<serde_json::Value> = (0..3)
        .map(|k| json(out.join(format!("seed{k}/summary.json"))))
        .collect();
    let best: Vec<String> = seeds.iter().map(|s| s["best_epoch"].to_string()).collect();
    let counts: Vec<String> = seeds
        .iter()
        .map(|s| format!("{}/{}", s["test_correct"], s["test_samples"]))
        .collect();
    assert!(
        rows[0].contains(&format!("| 3, 3, 3 | {} |", best.join(", ")))
            && rows[0].contains(&counts.join(", ")),
        "{table}"
    );
    let one = format!("{:.2} %", 100.0 * seed1["test_accuracy"].as_f64().unwrap());
    assert!(
        rows[1].contains(&one) && rows[1].contains("| 1 |"),
        "{table}"
    );
    // The provenance of the runs: version, threads, device.
    let p = &seed1["provenance"];
    assert!(
        provenance.contains(p["version"].as_str().unwrap())
            && provenance.contains(&format!("| {} |", p["threads"]))
            && provenance.contains("| cpu ("),
        "{provenance}"
    );
    let err = stderr_of(spikedelay().args(["report", dir.path().to_str().unwrap()]));
    assert!(err.contains("summary.json"), "{err}");
    // Another configuration in the same folder is refused.
    let other = write(
        dir.path(),
        "o.toml",
        &tiny(3).replace("epochs = 3", "epochs = 2"),
    );
    let err = stderr_of(spikedelay().args([
        "train",
        "--config",
        other.to_str().unwrap(),
        "--seeds",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(
        err.contains("seed0") && err.contains("another configuration"),
        "{err}"
    );
}

#[test]
fn device_choices_are_checked_and_a_missing_gpu_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "tiny.toml", &tiny(1));
    let train = |device: &str| {
        let mut cmd = spikedelay();
        cmd.args([
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--device",
            device,
        ])
        .arg("--out")
        .arg(dir.path().join(format!("run-{device}")));
        cmd
    };
    let err = stderr_of(&mut train("gpu"));
    assert!(err.contains("--device") && err.contains("gpu"), "{err}");
    if spikedelay::device::Device::Cuda(0).open().is_err() {
        let out = train("cuda").assert().failure().get_output().clone();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains("cuda:0") && err.contains("--device cpu"),
            "names the device and the way out: {err}"
        );
    }
    // The software device runs the GPU's kernels on the host.
    train("software").assert().success();
    let summary = common::summary(&dir.path().join("run-software"));
    assert_eq!(summary["provenance"]["device"], "software", "{summary}");
    // Its checkpoint evaluates on the CPU and on the device to the same decisions.
    let eval = |device: &str| -> serde_json::Value {
        let run = dir.path().join("run-software");
        let out = common::stdout_of(spikedelay().args([
            "eval",
            "--checkpoint",
            run.to_str().unwrap(),
            "--json",
            "--device",
            device,
        ]));
        serde_json::from_str(&out).unwrap()
    };
    let (cpu, dev) = (eval("cpu"), eval("software"));
    for split in ["valid", "test"] {
        assert_eq!(
            cpu[split]["confusion"], dev[split]["confusion"],
            "{cpu} {dev}"
        );
        assert!(cpu[split]["accuracy"].as_f64().is_some(), "{cpu}");
    }
}
