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
