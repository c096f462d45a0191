//! `RunDir`: a run's output folder, owned by one process at a time.
//!
//! Opening one takes an exclusive lock on `FOLDER/.lock` (an OS file lock, released by the
//! kernel when the process ends however it ends, so a lock left by a killed process is never
//! stale), writes the owner's process id into it for the message a second writer gets, and
//! removes temporaries that a killed writer left behind. What may already be in the folder
//! depends on how it is opened ([`Existing`]).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::layout::files;
use crate::atomic_file::is_temporary;
use crate::error::{Error, Result};

/// The lock file's name.
pub const LOCK: &str = ".lock";

/// What to do with a run that is already in the folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Refuse if the folder holds a run (a finished epoch or a summary); records of an epoch
    /// that never finished are removed.
    Refuse,
    /// Remove the run's records and checkpoints first.
    Overwrite,
    /// Keep everything: the run is being continued.
    Resume,
}

/// A locked run folder.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    _lock: File,
}

/// The files a run writes, which `Overwrite` removes.
const RUN_FILES: [&str; 5] = [
    files::LAST,
    files::BEST,
    files::METRICS,
    files::SUMMARY,
    files::CONFIG,
];

impl RunDir {
    /// Creates (if needed) and locks `path`, removes stale temporaries, and checks or clears
    /// what is there as `existing` says.
    pub fn open(path: &Path, existing: Existing) -> Result<Self> {
        std::fs::create_dir_all(path).map_err(|source| Error::Io {
            action: "creating output directory",
            path: path.to_path_buf(),
            source,
        })?;
        let lock = lock(path)?;
        let dir = RunDir {
            path: path.to_path_buf(),
            _lock: lock,
        };
        dir.remove_temporaries()?;
        match existing {
            Existing::Resume => {}
            Existing::Refuse => {
                if let Some(what) = holds_run(path) {
                    return Err(Error::RunExists {
                        path: path.to_path_buf(),
                        what,
                    });
                }
                dir.remove(&RUN_FILES)?;
            }
            Existing::Overwrite => {
                dir.remove(&RUN_FILES)?;
                let plots = path.join(files::PLOTS);
                if plots.is_dir() {
                    std::fs::remove_dir_all(&plots).map_err(|source| Error::Io {
                        action: "removing the replaced run's figures",
                        path: plots,
                        source,
                    })?;
                }
            }
        }
        Ok(dir)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn remove(&self, names: &[&str]) -> Result<()> {
        for name in names {
            let p = self.path.join(name);
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(Error::Io {
                        action: "removing",
                        path: p,
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    /// Removes `.NAME.tmp-PID` files: with the lock held, no other process is writing them.
    fn remove_temporaries(&self) -> Result<()> {
        let entries = std::fs::read_dir(&self.path).map_err(|source| Error::Io {
            action: "listing",
            path: self.path.clone(),
            source,
        })?;
        let stale: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter(|n| is_temporary(n))
            .collect();
        let names: Vec<&str> = stale.iter().map(String::as_str).collect();
        self.remove(&names)
    }
}

/// What makes `path` hold a run, if anything: a finished epoch or a summary.
pub fn holds_run(path: &Path) -> Option<&'static str> {
    if path.join(files::SUMMARY).is_file() {
        Some("a finished run: summary.json")
    } else if path.join(files::LAST).is_file() {
        Some("finished epochs: last.safetensors")
    } else {
        None
    }
}

/// Takes the folder's lock, or names the process that holds it.
fn lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK);
    let io = |action, source| Error::Io {
        action,
        path: path.clone(),
        source,
    };
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| io("opening the lock file", e))?;
    match f.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut owner = String::new();
            let _ = f.read_to_string(&mut owner);
            let owner = match owner.trim() {
                "" => "another process".to_string(),
                pid => format!("process {pid}"),
            };
            return Err(Error::run_folder(
                dir,
                format!(
                    "{owner} is writing to it (it holds {LOCK}); wait for it to finish, or \
                     choose another output folder"
                ),
            ));
        }
        Err(TryLockError::Error(e)) => return Err(io("locking", e)),
    }
    f.set_len(0).map_err(|e| io("writing the lock file", e))?;
    f.rewind().map_err(|e| io("writing the lock file", e))?;
    writeln!(f, "{}", std::process::id()).map_err(|e| io("writing the lock file", e))?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_owner_is_refused_and_names_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunDir::open(dir.path(), Existing::Refuse).unwrap();
        let err = RunDir::open(dir.path(), Existing::Resume)
            .unwrap_err()
            .to_string();
        let pid = std::process::id().to_string();
        assert!(
            err.contains(&pid) && err.contains("is writing to it"),
            "{err}"
        );
        drop(first);
        RunDir::open(dir.path(), Existing::Resume).unwrap();
    }

    #[test]
    fn refuses_a_run_removes_temporaries_and_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join(files::METRICS), "{}\n").unwrap();
        std::fs::write(p.join(".last.safetensors.tmp-123"), "x").unwrap();
        // An unfinished first epoch is not a run: its records go.
        drop(RunDir::open(p, Existing::Refuse).unwrap());
        assert!(!p.join(files::METRICS).exists());
        assert!(!p.join(".last.safetensors.tmp-123").exists());
        std::fs::write(p.join(files::LAST), "x").unwrap();
        let err = RunDir::open(p, Existing::Refuse).unwrap_err();
        assert!(
            matches!(err, Error::RunExists { what, .. } if what.contains("last.safetensors")),
            "{err}"
        );
        assert!(p.join(files::LAST).exists());
        std::fs::write(p.join(files::SUMMARY), "x").unwrap();
        drop(RunDir::open(p, Existing::Resume).unwrap());
        assert!(p.join(files::SUMMARY).exists());
        drop(RunDir::open(p, Existing::Overwrite).unwrap());
        assert!(!p.join(files::LAST).exists() && !p.join(files::SUMMARY).exists());
    }
}
