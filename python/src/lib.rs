//! The `spikedelay._spikedelay` extension module: the Rust library behind the Python package
//! (`python/spikedelay/`). Heavy work runs with the interpreter detached; library errors become
//! the Python exceptions their kind calls for (`errors.rs`).

mod cochlea;
mod config;
mod errors;
mod model;
mod stream;
mod sweep;
mod train;

use pyo3::prelude::*;

/// Keeps freed memory in glibc's heap instead of returning each large block to the kernel, as
/// the CLI does (crates/spikedelay-cli/src/main.rs): training frees and reallocates the same
/// large activation buffers every batch, and with the default thresholds each costs fresh page
/// faults. Process-wide; set once when the module is imported.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

#[pymodule]
fn _spikedelay(m: &Bound<'_, PyModule>) -> PyResult<()> {
    tune_allocator();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<config::RunConfig>()?;
    m.add_class::<model::Model>()?;
    m.add_class::<stream::Stream>()?;
    m.add_function(wrap_pyfunction!(train::train, m)?)?;
    m.add_function(wrap_pyfunction!(model::load, m)?)?;
    m.add_function(wrap_pyfunction!(train::load_splits, m)?)?;
    m.add_function(wrap_pyfunction!(sweep::sweep, m)?)?;
    m.add_function(wrap_pyfunction!(sweep::report, m)?)?;
    m.add_function(wrap_pyfunction!(cochlea::cochlea, m)?)?;
    Ok(())
}
