//! Preprocessed-data caches as safetensors files: typed arrays plus string metadata that says
//! what the cache was built from. Written atomically; a cache whose metadata does not match the
//! current source and settings is rebuilt, never trusted.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::atomic_file::write_atomic;
use crate::error::{Error, Result};

/// One array to store.
pub struct Array<'a> {
    /// Tensor name.
    pub name: &'a str,
    /// Element type.
    pub dtype: Dtype,
    /// Shape.
    pub shape: Vec<usize>,
    /// Little-endian bytes.
    pub bytes: Vec<u8>,
}

/// Little-endian bytes of a slice of plain numbers.
pub fn le_bytes<T: Copy, const N: usize>(v: &[T], f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    v.iter().flat_map(|&x| f(x)).collect()
}

/// Writes `arrays` and `meta` to `path` atomically.
pub fn write_cache(path: &Path, arrays: &[Array], meta: HashMap<String, String>) -> Result<()> {
    let views = arrays
        .iter()
        .map(|a| {
            TensorView::new(a.dtype, a.shape.clone(), &a.bytes)
                .map(|v| (a.name.to_string(), v))
                .map_err(|e| Error::data(path, format!("cache array `{}`: {e}", a.name)))
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = safetensors::serialize(views, Some(meta))
        .map_err(|e| Error::data(path, format!("cannot serialise cache: {e}")))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            action: "creating cache directory",
            path: dir.to_path_buf(),
            source,
        })?;
    }
    write_atomic(path, &bytes)
}

/// A cache read back into memory.
pub struct CacheFile {
    bytes: Vec<u8>,
    path: std::path::PathBuf,
    /// Its metadata.
    pub meta: HashMap<String, String>,
}

impl CacheFile {
    /// Reads `path`; `None` when it does not exist or is not a readable cache.
    pub fn read(path: &Path) -> Option<CacheFile> {
        let bytes = std::fs::read(path).ok()?;
        let (_, header) = SafeTensors::read_metadata(&bytes).ok()?;
        let meta = header.metadata().clone().unwrap_or_default();
        SafeTensors::deserialize(&bytes).ok()?;
        Some(CacheFile {
            bytes,
            path: path.to_path_buf(),
            meta,
        })
    }

    /// Raw bytes and shape of array `name`, checking its dtype.
    pub fn array(&self, name: &str, dtype: Dtype) -> Result<(Vec<usize>, &[u8])> {
        let st = SafeTensors::deserialize(&self.bytes)
            .map_err(|e| Error::data(&self.path, format!("unreadable cache: {e}")))?;
        let t = st
            .tensor(name)
            .map_err(|_| Error::data(&self.path, format!("cache lacks array `{name}`")))?;
        if t.dtype() != dtype {
            return Err(Error::data(
                &self.path,
                format!(
                    "cache array `{name}` has dtype {:?}, expected {dtype:?}",
                    t.dtype()
                ),
            ));
        }
        let shape = t.shape().to_vec();
        // The view borrows `st`, which borrows `self.bytes`: recompute the slice from offsets.
        let data = t.data();
        let start = data.as_ptr() as usize - self.bytes.as_ptr() as usize;
        Ok((shape, &self.bytes[start..start + data.len()]))
    }
}

/// A SHA-256 (hex) of a file's content sample: its first 64 KiB (for HDF5 the superblock and
/// the object headers, for WAV the header) and 16 blocks of 4 KiB spread evenly over the rest,
/// with its length. Part of every cache key, so a file replaced by one of the same size and
/// modification time is still noticed, without reading gigabytes at every start.
pub fn content_sample_digest(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::{Read, Seek, SeekFrom};
    let io = |source| Error::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    let mut h = Sha256::new();
    h.update(len.to_le_bytes());
    let mut read_at = |offset: u64, n: u64, h: &mut Sha256| -> Result<()> {
        f.seek(SeekFrom::Start(offset)).map_err(io)?;
        let mut buf = Vec::new();
        (&mut f).take(n).read_to_end(&mut buf).map_err(io)?;
        h.update(&buf);
        Ok(())
    };
    const HEAD: u64 = 64 * 1024;
    const BLOCK: u64 = 4096;
    read_at(0, HEAD, &mut h)?;
    if len > HEAD {
        for k in 0..16 {
            let offset = HEAD + (len - HEAD) * k / 16;
            read_at(offset, BLOCK, &mut h)?;
        }
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Decodes little-endian `u32`s.
pub fn u32s(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Decodes little-endian `u16`s.
pub fn u16s(b: &[u8]) -> Vec<u16> {
    b.chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect()
}

/// Decodes little-endian `u64`s.
pub fn u64s(b: &[u8]) -> Vec<u64> {
    b.chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

/// Decodes little-endian `f32`s.
pub fn f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
