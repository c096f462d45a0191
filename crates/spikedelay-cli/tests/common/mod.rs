//! Helpers shared by the command-line test binaries (each uses some of them).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use safetensors::SafeTensors;

/// The `spikedelay` binary of this build.
pub fn spikedelay() -> Command {
    Command::cargo_bin("spikedelay").unwrap()
}

/// Runs `cmd`, expects success, returns its standard output.
pub fn stdout_of(cmd: &mut Command) -> String {
    String::from_utf8(cmd.assert().success().get_output().stdout.clone()).unwrap()
}

/// Runs `cmd`, expects the error exit code 2, returns its standard error.
pub fn stderr_of(cmd: &mut Command) -> String {
    let out = cmd.assert().failure().code(2).get_output().clone();
    String::from_utf8(out.stderr).unwrap()
}

/// A run folder's `summary.json`.
pub fn summary(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

/// A built-in task and network small enough for a process to train in well under a second.
pub fn tiny(epochs: usize) -> String {
    format!(
        "[data]\nclasses = 4\nchannels = 8\nmotif_channels = 4\nsteps = 32\ntrain_samples = 96\n\
         valid_samples = 48\ntest_samples = 48\n\n[model]\nhidden = [12]\n\n[train]\n\
         epochs = {epochs}\nbatch_size = 32\n"
    )
}

/// Writes `text` to `dir/name`.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Writes a small synthetic SHD pair (`per_class` training and one test sample per class).
pub fn make_shd(out: &Path, per_class: usize) {
    stdout_of(
        spikedelay()
            .args(["data", "make-synthetic", "--format", "shd"])
            .arg(out)
            .args([
                "--train-per-class",
                &per_class.to_string(),
                "--test-per-class",
                "1",
            ]),
    );
}

/// Writes a small synthetic GSC folder of `speakers` speakers.
pub fn make_gsc(out: &Path, speakers: usize) {
    stdout_of(
        spikedelay()
            .args(["data", "make-synthetic", "--format", "gsc"])
            .arg(out)
            .args(["--speakers", &speakers.to_string()]),
    );
}

/// Summary, per-epoch records, and `(file:tensor, bytes)` of both checkpoints.
pub type Results = (
    serde_json::Value,
    Vec<serde_json::Value>,
    Vec<(String, Vec<u8>)>,
);

/// The run's results without wall times: summary, records, and every tensor of both
/// checkpoints with its bytes.
pub fn results(out: &Path) -> Results {
    let mut summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    summary.as_object_mut().unwrap().remove("wall_seconds");
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("seconds");
            v
        })
        .collect();
    let mut tensors = Vec::new();
    for file in ["last.safetensors", "best.safetensors"] {
        let bytes = std::fs::read(out.join(file)).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let mut names: Vec<String> = st.names().into_iter().map(str::to_owned).collect();
        names.sort();
        for n in names {
            tensors.push((
                format!("{file}:{n}"),
                st.tensor(&n).unwrap().data().to_vec(),
            ));
        }
    }
    (summary, metrics, tensors)
}
