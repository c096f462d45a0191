//! Opening an HDF5 file with errors a user can act on: a missing file is named as missing, and
//! a file shorter than its superblock's end-of-file address is called truncated (an interrupted
//! download or copy) before the reader fails somewhere inside it.

use std::io::Read;
use std::path::Path;

use hdf5_reader::Hdf5File;

use crate::error::{Error, Result};

/// The HDF5 signature.
const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// The end-of-file address the superblock at the start of the file records, plus the base
/// address it is relative to (HDF5 File Format Specification §II.A, superblock versions 0–3).
fn stored_length(head: &[u8]) -> Option<u64> {
    if head.get(..8)? != SIGNATURE {
        return None;
    }
    let read = |at: usize, size: usize| -> Option<u64> {
        let b = head.get(at..at + size)?;
        let mut le = [0u8; 8];
        le[..size].copy_from_slice(b);
        Some(u64::from_le_bytes(le))
    };
    let (base_at, size) = match *head.get(8)? {
        // Versions 0 and 1: eight one-byte fields, two 2-byte B-tree constants, 4 bytes of
        // flags (and in version 1 two more bytes and a reserved pair) before the addresses.
        0 => (24, *head.get(13)? as usize),
        1 => (28, *head.get(13)? as usize),
        // Versions 2 and 3: sizes of offsets and lengths, flags, then the addresses.
        2 | 3 => (12, *head.get(9)? as usize),
        _ => return None,
    };
    if !matches!(size, 2 | 4 | 8) {
        return None;
    }
    let base = read(base_at, size)?;
    // Base address, then (free space or extension address), then the end-of-file address.
    let eof = read(base_at + 2 * size, size)?;
    (eof != u64::MAX >> (64 - 8 * size as u32)).then(|| base.saturating_add(eof))
}

/// Opens `path`, which should hold `what` (for the message when it does not exist).
pub(crate) fn open(path: &Path, what: &str) -> Result<Hdf5File> {
    let mut file = std::fs::File::open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound {
                path: path.to_path_buf(),
                what: what.to_string(),
            }
        } else {
            Error::Io {
                action: "opening",
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    let size = file
        .metadata()
        .map_err(|source| Error::Io {
            action: "reading the size of",
            path: path.to_path_buf(),
            source,
        })?
        .len();
    let mut head = Vec::with_capacity(64);
    (&mut file)
        .take(64)
        .read_to_end(&mut head)
        .map_err(|source| Error::Io {
            action: "reading",
            path: path.to_path_buf(),
            source,
        })?;
    if let Some(expected) = stored_length(&head)
        && size < expected
    {
        return Err(Error::Truncated {
            path: path.to_path_buf(),
            format: "HDF5",
            size,
            expected,
        });
    }
    Hdf5File::open(path).map_err(|e| {
        Error::data(
            path,
            format!("not a readable HDF5 file ({e}); expected {what}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_file_is_called_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.h5");
        let values: Vec<f64> = (0..4000).map(f64::from).collect();
        let whole = hdf5_writer::Hdf5Builder::new()
            .dataset(hdf5_writer::DatasetBuilder::typed_data("v", vec![4000], &values).unwrap())
            .into_plan()
            .and_then(|plan| plan.encode(hdf5_writer::WriteOptions::default()))
            .unwrap();
        std::fs::write(&path, &whole).unwrap();
        assert_eq!(stored_length(&whole[..64]), Some(whole.len() as u64));
        assert!(open(&path, "a test file").is_ok());
        std::fs::write(&path, &whole[..whole.len() / 2]).unwrap();
        let err = open(&path, "a test file").err().expect("truncated");
        assert!(matches!(err, Error::Truncated { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("truncated") && msg.contains(&whole.len().to_string()),
            "{msg}"
        );
        let missing = open(&dir.path().join("none.h5"), "an SHD file")
            .err()
            .expect("missing");
        assert!(matches!(missing, Error::NotFound { .. }), "{missing}");
    }
}
