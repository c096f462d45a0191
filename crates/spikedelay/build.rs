//! Records the git commit the library is built from (`SPIKEDELAY_GIT_COMMIT`, with `+dirty`
//! when tracked files differ from it) so that every run can name the code that made it. Outside
//! a git checkout, or without git, nothing is recorded.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=SPIKEDELAY_GIT_COMMIT");
    // Edits to the library's own sources change what `+dirty` says.
    println!("cargo:rerun-if-changed=src");
    let Some(commit) = git(&["rev-parse", "HEAD"]) else {
        return;
    };
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        // A new commit moves HEAD or the branch it names; staging changes the index.
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/index");
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={dir}/{branch}");
        }
    }
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let suffix = if dirty { "+dirty" } else { "" };
    println!("cargo:rustc-env=SPIKEDELAY_GIT_COMMIT={commit}{suffix}");
}
