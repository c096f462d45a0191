//! Crash safety of `spikedelay train` (issue 16): real processes die at 40 moments spread over
//! a run — between every pair of file writes (the `SPIKEDELAY_ABORT_AT` hook, which aborts
//! like `kill -9`), inside epochs (SIGKILL from outside while the process waits at a
//! `SPIKEDELAY_HANG_AT` point: after a batch, before evaluation) and at random times (SIGKILL
//! from outside) — and each is resumed until it finishes. Every resumed folder must hold the
//! uninterrupted run's results exactly (tensors byte for byte, records except wall times) and no
//! temporary files.
//!
//! Nothing here depends on the machine's speed: every hooked death happens at its event on any
//! load, and a random-time kill that comes after the run has finished (a fast machine, or a
//! slow start under load) is only not counted.

mod common;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{results, tiny};

const EPOCHS: usize = 4;

fn train(cfg: &Path, out: &Path, resume: bool) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("spikedelay"));
    c.args(["train", "--threads", "1", "--out"]).arg(out);
    if resume {
        c.arg("--resume");
    } else {
        c.arg("--config").arg(cfg);
    }
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

/// Continues `out` until its run finishes, as a user would: `--resume`, or a fresh start where
/// no epoch had finished.
fn finish(cfg: &Path, out: &Path) {
    let o = train(cfg, out, true).output().unwrap();
    if o.status.success() {
        return;
    }
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("nothing to resume yet"),
        "resume failed: {err}"
    );
    let o = train(cfg, out, false).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn temporaries(out: &Path) -> Vec<String> {
    std::fs::read_dir(out)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

enum Death {
    /// Abort at the hook's point `NAME#N`.
    At(String),
    /// SIGKILL from outside while the process waits at `NAME#N`.
    KillAt(String),
    /// SIGKILL after this long (counted only where it landed before the run finished).
    After(Duration),
}

/// Starts `cmd` with the hang hook at `point`, waits until the process says it waits there, and
/// kills it; true when it was killed there (false: it ended without reaching the point).
fn kill_at(mut cmd: std::process::Command, point: &str) -> bool {
    cmd.env(spikedelay::fault::HANG_ENV, point);
    let mut child = cmd.spawn().unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut reached = false;
    for line in stderr.lines() {
        if line.unwrap().contains("waiting at") {
            reached = true;
            break;
        }
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    reached && !status.success()
}

#[test]
fn killed_at_any_moment_a_run_resumes_to_the_uninterrupted_result() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("tiny.toml");
    std::fs::write(&cfg, tiny(EPOCHS)).unwrap();
    let reference = dir.path().join("straight");
    let t0 = Instant::now();
    let o = train(&cfg, &reference, false).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run_time = t0.elapsed();
    let expected = results(&reference);
    assert_eq!(expected.1.len(), EPOCHS);

    let mut deaths = Vec::new();
    for point in [
        "epoch-evaluated",
        "metrics.jsonl:tmp",
        "metrics.jsonl:written",
        "last.safetensors:tmp",
        "last.safetensors:written",
    ] {
        for n in 1..=EPOCHS {
            deaths.push(Death::At(format!("{point}#{n}")));
        }
    }
    // Inside epochs: after batch 1 (first epoch), 5 (second), 9 (third, of 3 per epoch), before
    // the first and last evaluation, and after the last batch of all.
    for point in [
        "batch#1",
        "batch#2",
        "batch#5",
        "batch#9",
        "batch#12",
        "evaluating#1",
        "evaluating#3",
        "evaluating#4",
    ] {
        deaths.push(Death::KillAt(point.into()));
    }
    for point in [
        "config.toml:tmp",
        "config.toml:written",
        "best.safetensors:tmp",
        "best.safetensors:written",
        "summary.json:tmp",
    ] {
        deaths.push(Death::At(format!("{point}#1")));
    }
    // Random moments over the whole run (start-up and data generation included).
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..8 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let frac = (x % 1000) as f64 / 1000.0;
        deaths.push(Death::After(run_time.mul_f64(0.05 + 0.9 * frac)));
    }
    assert_eq!(deaths.len(), 41);

    let scenarios: Vec<(usize, Death)> = deaths.into_iter().enumerate().collect();
    let outcomes: Vec<(String, bool, PathBuf)> = std::thread::scope(|s| {
        let chunks: Vec<&[(usize, Death)]> =
            scenarios.chunks(scenarios.len().div_ceil(2)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let (cfg, root) = (&cfg, dir.path());
                s.spawn(move || {
                    let mut done = Vec::new();
                    for (i, death) in chunk {
                        let out = root.join(format!("killed{i}"));
                        let mut cmd = train(cfg, &out, false);
                        let (label, killed) = match death {
                            Death::At(point) => {
                                cmd.env(spikedelay::fault::ENV, point);
                                let o = cmd.output().unwrap();
                                (point.clone(), !o.status.success())
                            }
                            Death::KillAt(point) => {
                                (format!("SIGKILL at {point}"), kill_at(cmd, point))
                            }
                            Death::After(after) => {
                                let mut child = cmd.spawn().unwrap();
                                std::thread::sleep(*after);
                                let finished = child.try_wait().unwrap().is_some();
                                let _ = child.kill();
                                let status = child.wait().unwrap();
                                (
                                    format!("SIGKILL after {after:?}"),
                                    !finished && !status.success(),
                                )
                            }
                        };
                        finish(cfg, &out);
                        done.push((label, killed, out));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut random_kills = 0;
    for (label, was_killed, out) in &outcomes {
        if label.starts_with("SIGKILL after") {
            random_kills += usize::from(*was_killed);
        } else {
            assert!(was_killed, "{label}: the hook did not stop the process");
        }
        let got = results(out);
        assert_eq!(got.0, expected.0, "{label}: summary.json differs");
        assert_eq!(got.1, expected.1, "{label}: metrics.jsonl differs");
        assert!(got.2 == expected.2, "{label}: checkpoint tensors differ");
        assert_eq!(temporaries(out), Vec::<String>::new(), "{label}");
    }
    eprintln!(
        "{} runs killed at events, {random_kills} of 8 at random moments (the others had finished)",
        outcomes.len() - 8
    );
}
