//! One run across processes with the system's MPI (issue 24): `mpirun -np 2 spikedelay train
//! --shards 2` writes exactly what one process with `--shards 2` writes (summary, records,
//! checkpoint tensors), a run killed under MPI resumes in one process (and the other way round)
//! to the same results, and shards that cannot be divided among the processes are refused.
//!
//! Needs a binary built with the `mpi` feature (`cargo test --release --features mpi`) and
//! `mpirun` on PATH; skipped with a message otherwise (`.ci/run` installs OpenMPI and runs it).

mod common;

use std::path::Path;
use std::process::Command;

use common::{results, spikedelay, stdout_of, tiny, write};

fn mpi_ready() -> bool {
    let version = stdout_of(spikedelay().arg("--version"));
    if !version.contains("mpi") {
        eprintln!("skipped: this spikedelay was built without the `mpi` feature ({version})");
        return false;
    }
    if Command::new("mpirun").arg("--version").output().is_err() {
        eprintln!("skipped: no mpirun on PATH (Debian: apt-get install openmpi-bin)");
        return false;
    }
    true
}

fn mpirun(np: usize) -> Command {
    let mut c = Command::new("mpirun");
    c.args([
        "--allow-run-as-root",
        "--oversubscribe",
        "-np",
        &np.to_string(),
    ])
    .arg(assert_cmd::cargo::cargo_bin("spikedelay"));
    c
}

fn train_args(c: &mut Command, cfg: &Path, out: &Path) {
    c.args(["train", "--threads", "1", "--shards", "2", "--config"])
        .arg(cfg)
        .arg("--out")
        .arg(out);
}

fn ok(c: &mut Command) -> String {
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into()
}

#[test]
fn two_processes_equal_one_bit_for_bit_and_resume_across_process_counts() {
    if !mpi_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "c.toml", &tiny(4));
    let one = dir.path().join("one");
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("spikedelay"));
    train_args(&mut c, &cfg, &one);
    ok(&mut c);

    let two = dir.path().join("two");
    let mut c = mpirun(2);
    train_args(&mut c, &cfg, &two);
    let text = ok(&mut c);
    assert!(
        text.contains("data parallel: MPI, 2 processes, train.shards = 2"),
        "{text}"
    );
    assert_eq!(results(&one), results(&two));

    // Killed under MPI after its second epoch's evaluation, resumed in one process.
    let a = dir.path().join("mpi-then-one");
    let mut c = mpirun(2);
    train_args(&mut c, &cfg, &a);
    c.env("SPIKEDELAY_ABORT_AT", "epoch-evaluated#3");
    assert!(!c.output().unwrap().status.success());
    assert!(a.join("last.safetensors").is_file() && !a.join("summary.json").exists());
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("spikedelay"));
    c.args(["train", "--threads", "1", "--resume", "--out"])
        .arg(&a);
    ok(&mut c);
    assert_eq!(results(&one), results(&a));

    // Killed alone, resumed under MPI.
    let b = dir.path().join("one-then-mpi");
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("spikedelay"));
    train_args(&mut c, &cfg, &b);
    c.env("SPIKEDELAY_ABORT_AT", "epoch-evaluated#2");
    assert!(!c.output().unwrap().status.success());
    let mut c = mpirun(2);
    c.args(["train", "--threads", "1", "--resume", "--out"])
        .arg(&b);
    ok(&mut c);
    assert_eq!(results(&one), results(&b));
}

#[test]
fn shards_that_do_not_divide_among_the_processes_are_refused() {
    if !mpi_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "c.toml", &tiny(1));
    let mut c = mpirun(2);
    c.args(["train", "--threads", "1", "--shards", "3", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("x"));
    let o = c.output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("train.shards") && err.contains("multiple of 2"),
        "{err}"
    );
}
