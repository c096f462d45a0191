//! Writing files so that nothing is ever left half-written: write a temporary file in the same
//! directory, flush it to disk, rename it over the destination, then flush the directory so the
//! rename itself survives a power cut. Temporaries are named `.NAME.tmp-PID-N` (N counts this process's writes, so threads writing
//! one file at once never share a temporary); a run folder's
//! owner removes stale ones ([`crate::train::RunDir`]).

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Atomically replaces `path` with `bytes`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |action: &'static str, source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    static WRITES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        crate::fault::point(format!("{name}:tmp"));
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io("writing", e));
    }
    sync_dir(dir);
    crate::fault::point(format!("{name}:written"));
    Ok(())
}

/// Whether `name` is one of [`write_atomic`]'s temporaries.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// Flushes a directory's entries (the rename) to disk; a no-op where directories cannot be
/// opened as files.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_directory_is_a_named_error() {
        let err = write_atomic(Path::new("/nonexistent-dir/x.json"), b"x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent-dir/x.json"), "{err}");
    }
}
