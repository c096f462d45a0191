//! A sweep as a Slurm job array: one array task per run, each `spikedelay sweep --task I` on the
//! sweep folder, which skips, resumes or starts its run ([`super::Sweep::run_one`]), so a task is
//! safe to requeue. `sbatch` options (partition, time, CPUs, GPUs) pass through as `#SBATCH` lines.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::Sweep;
use crate::atomic_file::write_atomic;
use crate::error::{Error, Result};

/// The job script's file name in the sweep folder.
pub const SCRIPT: &str = "sweep.sbatch";
/// The folder (in the sweep's) for the tasks' standard output and error.
pub const LOGS: &str = "slurm";

/// Single-quotes `s` for a POSIX shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The `sbatch` script of `sweep`: an array of one task per run, running `exe`; each line of
/// `options` (`--partition=gpu`, `--time=02:00:00`, `--cpus-per-task=8`) becomes an
/// `#SBATCH` line. Threads per task: Slurm's `SLURM_CPUS_PER_TASK` where set.
pub fn script(sweep: &Sweep, exe: &Path, options: &[String]) -> Result<String> {
    let root = std::path::absolute(sweep.root()).map_err(|source| Error::Io {
        action: "resolving the sweep folder",
        path: sweep.root().to_path_buf(),
        source,
    })?;
    for o in options {
        if !o.starts_with('-') || o.contains('\n') {
            return Err(Error::config(
                "--slurm-opt",
                format!("expects an sbatch option such as --partition=gpu, got `{o}`"),
            ));
        }
    }
    let n = sweep.runs().len();
    let logs = root.join(LOGS);
    let mut s = String::from("#!/bin/bash\n");
    s.push_str("#SBATCH --job-name=spikedelay-sweep\n");
    s.push_str(&format!("#SBATCH --array=0-{}\n", n.saturating_sub(1)));
    s.push_str(&format!("#SBATCH --output={}/%A_%a.out\n", logs.display()));
    s.push_str("#SBATCH --requeue\n");
    for o in options {
        s.push_str(&format!("#SBATCH {o}\n"));
    }
    s.push_str(&format!(
        "# {n} runs of the sweep in {}; each task trains one (skipping a finished run and \
         resuming a started one), so a requeued task continues.\nset -eu\n",
        root.display()
    ));
    s.push_str("threads=()\n");
    s.push_str(
        "if [ -n \"${SLURM_CPUS_PER_TASK:-}\" ]; then threads=(--threads \"$SLURM_CPUS_PER_TASK\"); fi\n",
    );
    s.push_str(&format!(
        "exec {} sweep --out {} --task \"$SLURM_ARRAY_TASK_ID\" \"${{threads[@]}}\"\n",
        quote(&exe.display().to_string()),
        quote(&root.display().to_string()),
    ));
    Ok(s)
}

/// Writes the script into the sweep folder (and creates its log folder); returns its path.
pub fn write_script(sweep: &Sweep, exe: &Path, options: &[String]) -> Result<PathBuf> {
    let text = script(sweep, exe, options)?;
    let logs = sweep.root().join(LOGS);
    std::fs::create_dir_all(&logs).map_err(|source| Error::Io {
        action: "creating the Slurm log folder",
        path: logs,
        source,
    })?;
    let path = sweep.root().join(SCRIPT);
    write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

/// Submits `script` with `sbatch --parsable`; returns the job id.
pub fn submit(script: &Path) -> Result<String> {
    let out = Command::new("sbatch")
        .arg("--parsable")
        .arg(script)
        .output()
        .map_err(|source| Error::Io {
            action: "running sbatch (is Slurm installed and on PATH?) for",
            path: script.to_path_buf(),
            source,
        })?;
    if !out.status.success() {
        return Err(Error::run_folder(
            script,
            format!(
                "sbatch refused the job ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.trim().split(';').next().unwrap_or("").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunConfig;

    #[test]
    fn the_script_is_one_array_task_per_run() {
        let dir = tempfile::tempdir().unwrap();
        let grid = vec!["model.delays=learned,fixed".parse().unwrap()];
        let sweep = Sweep::create(dir.path(), &RunConfig::default(), grid, vec![0, 1, 2]).unwrap();
        let opts = vec!["--partition=debug".to_string(), "--time=10".to_string()];
        let s = script(&sweep, Path::new("/opt/it's/spikedelay"), &opts).unwrap();
        assert!(s.contains("#SBATCH --array=0-5\n"), "{s}");
        assert!(
            s.contains("#SBATCH --partition=debug\n#SBATCH --time=10\n"),
            "{s}"
        );
        assert!(
            s.contains(r"exec '/opt/it'\''s/spikedelay' sweep --out '"),
            "{s}"
        );
        let e = script(&sweep, Path::new("x"), &["partition=x".into()]).unwrap_err();
        assert!(e.to_string().contains("--slurm-opt"), "{e}");
    }
}
