//! `spikedelay sweep` and `report` on a sweep (issue 24): a grid × seeds trained here gives each
//! run exactly what `train` gives by hand; the ablation table's figures are the seeds' mean and
//! sample std; a rerun skips finished runs; a sweep killed mid-run (a real abort) or stopped
//! by Ctrl-C and run again ends with the uninterrupted sweep's results; the Slurm script runs a
//! task as an array task would.

mod common;

use std::io::BufRead;
use std::path::Path;
use std::process::Stdio;

use common::{results, spikedelay, stderr_of, stdout_of, tiny, write};

const GRID: [&str; 4] = ["--grid", "model.delays=learned,none", "--seeds", "0,1"];

fn sweep(cfg: &Path, out: &Path, jobs: usize) -> assert_cmd::Command {
    let mut c = spikedelay();
    // One thread per run, whatever the jobs, so that runs record the same thread count.
    let jobs = jobs.to_string();
    c.args(["sweep", "--threads", &jobs, "--jobs", &jobs, "--config"])
        .arg(cfg)
        .args(GRID)
        .arg("--out")
        .arg(out);
    c
}

fn run_dirs(out: &Path) -> Vec<std::path::PathBuf> {
    ["learned", "none"]
        .iter()
        .flat_map(|d| (0..2).map(move |s| out.join(format!("model.delays={d}/seed{s}"))))
        .collect()
}

#[test]
fn a_sweep_equals_its_runs_by_hand_and_reports_their_mean_and_spread() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "base.toml", &tiny(3));
    let out = dir.path().join("sweep");
    let text = stdout_of(&mut sweep(&cfg, &out, 2));
    assert!(
        text.contains("sweep of 4 runs (2 grid points × 2 seeds)"),
        "{text}"
    );

    // Each run is exactly `train` of its configuration by hand (one thread, as each of the two
    // jobs had).
    let by_hand = dir.path().join("by-hand");
    stdout_of(
        spikedelay()
            .args(["train", "--threads", "1", "--delays", "none", "--seed", "1"])
            .arg("--config")
            .arg(&cfg)
            .arg("--out")
            .arg(&by_hand),
    );
    assert_eq!(
        results(&by_hand),
        results(&out.join("model.delays=none/seed1"))
    );

    // The table: mean ± sample std of the seeds' summaries.
    let csv = stdout_of(
        spikedelay()
            .arg("report")
            .arg(&out)
            .args(["--format", "csv"]),
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("model.delays,n,seeds,test_accuracy_mean,test_accuracy_std"));
    for (line, delays) in lines[1..].iter().zip(["learned", "none"]) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(&cells[..3], &[delays, "2", "2"], "{line}");
        let acc: Vec<f64> = (0..2)
            .map(|s| {
                common::summary(&out.join(format!("model.delays={delays}/seed{s}")))
                    ["test_accuracy"]
                    .as_f64()
                    .unwrap()
            })
            .collect();
        let mean = (acc[0] + acc[1]) / 2.0;
        let std = ((acc[0] - mean).powi(2) + (acc[1] - mean).powi(2)).sqrt();
        let (m, s): (f64, f64) = (cells[3].parse().unwrap(), cells[4].parse().unwrap());
        assert!(
            (m - mean).abs() < 1e-12 && (s - std).abs() < 1e-12,
            "{line} vs {acc:?}"
        );
        // The point's aggregate.json says the same.
        let agg: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(format!("model.delays={delays}/aggregate.json")))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(agg["test_accuracy"]["mean"].as_f64().unwrap(), m);
    }
    let md = stdout_of(spikedelay().arg("report").arg(&out));
    assert!(
        md.contains("| model.delays | n | test accuracy (selected epoch) |"),
        "{md}"
    );
    let json = stdout_of(
        spikedelay()
            .arg("report")
            .arg(&out)
            .args(["--format", "json"]),
    );
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(rows[1]["point"][0], "none");

    // A rerun trains nothing.
    let before: Vec<_> = run_dirs(&out).iter().map(|d| results(d)).collect();
    let again = stdout_of(&mut sweep(&cfg, &out, 2));
    assert_eq!(again.matches("finished earlier").count(), 4, "{again}");
    assert!(!again.contains("started"), "{again}");
    let after: Vec<_> = run_dirs(&out).iter().map(|d| results(d)).collect();
    assert_eq!(before, after);

    // Killed in the middle (an abort like kill -9 in the second run's second epoch) and run
    // again: the same results as the uninterrupted sweep.
    let killed = dir.path().join("killed");
    let mut c = sweep(&cfg, &killed, 1);
    c.env("SPIKEDELAY_ABORT_AT", "epoch-evaluated#5");
    let o = c.output().unwrap();
    assert!(!o.status.success());
    assert!(
        killed
            .join("model.delays=learned/seed0/summary.json")
            .is_file()
    );
    assert!(
        !killed
            .join("model.delays=learned/seed1/summary.json")
            .is_file()
    );
    let resumed = stdout_of(&mut sweep(&cfg, &killed, 2));
    assert!(resumed.contains("resuming after epoch 1"), "{resumed}");
    for (a, b) in run_dirs(&out).iter().zip(run_dirs(&killed)) {
        assert_eq!(results(a), results(&b), "{}", b.display());
    }
}

#[test]
fn ctrl_c_stops_every_run_at_a_committed_epoch_and_a_rerun_completes_them() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "base.toml", &tiny(6));
    let out = dir.path().join("sweep");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("spikedelay"))
        .args(["sweep", "--threads", "2", "--jobs", "2", "--config"])
        .arg(&cfg)
        .args(GRID)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // SIGINT once the first epoch is reported.
    for line in lines.by_ref() {
        if line.unwrap().contains("epoch 1:") {
            // SAFETY: sending a signal to our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
            break;
        }
    }
    let rest: Vec<String> = lines.map_while(|l| l.ok()).collect();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    if status.success() {
        // Every run finished before the signal landed (a very fast machine): nothing to check.
        eprintln!("the sweep finished before Ctrl-C landed; not counted");
        return;
    }
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(
        err.contains("stopping") && err.contains("run the same command again"),
        "{err}"
    );
    assert!(
        rest.iter()
            .any(|l| l.contains("stopped; a rerun continues it")),
        "{rest:?}"
    );
    for d in run_dirs(&out) {
        let tmp = std::fs::read_dir(&d)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.contains(".tmp-"))
            .count();
        assert_eq!(tmp, 0, "{}", d.display());
    }
    stdout_of(
        spikedelay()
            .args(["sweep", "--threads", "2", "--jobs", "2", "--config"])
            .arg(&cfg)
            .args(GRID)
            .arg("--out")
            .arg(&out),
    );
    let reference = dir.path().join("reference");
    stdout_of(
        spikedelay()
            .args(["sweep", "--threads", "2", "--jobs", "2", "--config"])
            .arg(&cfg)
            .args(GRID)
            .arg("--out")
            .arg(&reference),
    );
    for (a, b) in run_dirs(&reference).iter().zip(run_dirs(&out)) {
        assert_eq!(results(a), results(&b), "{}", b.display());
    }
}

#[test]
fn the_slurm_script_trains_one_run_per_array_task() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "base.toml", &tiny(2));
    let out = dir.path().join("sweep");
    let text = stdout_of(
        spikedelay()
            .args([
                "sweep",
                "--slurm",
                "--slurm-opt",
                "--partition=debug",
                "--config",
            ])
            .arg(&cfg)
            .args(GRID)
            .arg("--out")
            .arg(&out),
    );
    assert!(text.contains("sbatch"), "{text}");
    let script = std::fs::read_to_string(out.join("sweep.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-3\n#"), "{script}");
    assert!(script.contains("#SBATCH --partition=debug\n"), "{script}");
    // What Slurm does for array task 3 (the last run), without Slurm.
    let o = std::process::Command::new("bash")
        .arg(out.join("sweep.sbatch"))
        .env("SLURM_ARRAY_TASK_ID", "3")
        .env("SLURM_CPUS_PER_TASK", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("model.delays=none/seed1/summary.json").is_file());
    assert!(!out.join("model.delays=none/seed0/summary.json").is_file());
    // A requeued task finds its run finished.
    let again = stdout_of(
        spikedelay()
            .args(["sweep", "--task", "3", "--out"])
            .arg(&out),
    );
    assert!(again.contains("finished earlier"), "{again}");
    let table = stdout_of(spikedelay().arg("report").arg(&out));
    assert!(table.contains("| none | 1/2 |"), "{table}");
    assert!(table.contains("| learned | 0/2 | – |"), "{table}");
    let err = stderr_of(
        spikedelay()
            .args(["sweep", "--task", "4", "--out"])
            .arg(&out),
    );
    assert!(
        err.contains("task index") && err.contains("has 4 runs"),
        "{err}"
    );
}

#[test]
fn bad_sweeps_name_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s");
    for (args, words) in [
        (vec!["--grid", "model.delays"], "KEY=V1,V2"),
        (vec!["--grid", "train.epochs=two"], "train.epochs"),
        (vec!["--grid", "model.nonsense=1"], "model.nonsense"),
        (vec!["--seeds", "4-2"], "--seeds"),
    ] {
        let mut c = spikedelay();
        c.args(["sweep", "--out"]).arg(&out).args(&args);
        let o = c.output().unwrap();
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(words), "{args:?}: {err}");
    }
}
