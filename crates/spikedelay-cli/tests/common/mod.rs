//! Helpers shared by the command-line test binaries (each uses some of them).
#![allow(dead_code)]

use std::path::Path;

use assert_cmd::Command;

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
