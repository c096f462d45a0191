//! The `spikedelay._spikedelay` extension module: the Rust library behind the Python package
//! (`python/spikedelay/`). Heavy work runs with the interpreter detached; library errors become
//! the Python exceptions their kind calls for (`errors.rs`).

mod config;
mod errors;
mod model;
mod train;

use pyo3::prelude::*;

#[pymodule]
fn _spikedelay(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<config::RunConfig>()?;
    m.add_class::<model::Model>()?;
    m.add_function(wrap_pyfunction!(train::train, m)?)?;
    m.add_function(wrap_pyfunction!(model::load, m)?)?;
    m.add_function(wrap_pyfunction!(train::load_splits, m)?)?;
    Ok(())
}
