//! `RunConfig`: the run configuration of the CLI's TOML files, from a preset, a TOML file or a
//! dict, validated by the library (errors name the key).

use pyo3::prelude::*;
use pyo3::types::PyDict;
use spikedelay::config::{Preset, RunConfig as Inner};

use crate::errors::to_py;

/// A run configuration (`[data]`, `[model]`, `[train]`), as `spikedelay train --config` reads.
#[pyclass(module = "spikedelay", frozen)]
#[derive(Clone)]
pub struct RunConfig {
    pub inner: Inner,
}

fn json_to_toml(py: Python<'_>, d: &Bound<'_, PyAny>) -> PyResult<String> {
    let json = py.import("json")?.call_method1("dumps", (d,))?;
    let value: serde_json::Value = serde_json::from_str(json.extract::<&str>()?)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("config dict: {e}")))?;
    let table: toml::Value = serde_json::from_value(value)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("config dict: {e}")))?;
    toml::to_string(&table)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("config dict: {e}")))
}

#[pymethods]
impl RunConfig {
    /// The default configuration (the built-in `delay-patterns` task).
    #[new]
    fn new() -> Self {
        RunConfig {
            inner: Inner::default(),
        }
    }

    /// A preset: `delay-patterns`, `shd`, `ssc` or `gsc`.
    #[staticmethod]
    fn preset(name: &str) -> PyResult<Self> {
        Ok(RunConfig {
            inner: Preset::from_name(name).map_err(to_py)?.config(),
        })
    }

    /// Reads a TOML file as `spikedelay train --config` does.
    #[staticmethod]
    fn from_toml(path: std::path::PathBuf) -> PyResult<Self> {
        let inner = Inner::from_toml_file(&path).map_err(to_py)?;
        inner.validate().map_err(to_py)?;
        Ok(RunConfig { inner })
    }

    /// From a dict shaped like the TOML file (`{"model": {"hidden": [48]}, ...}`); missing
    /// keys take their defaults.
    #[staticmethod]
    fn from_dict(py: Python<'_>, d: &Bound<'_, PyDict>) -> PyResult<Self> {
        let text = json_to_toml(py, d.as_any())?;
        let inner = Inner::from_toml_str(&text).map_err(to_py)?;
        inner.validate().map_err(to_py)?;
        Ok(RunConfig { inner })
    }

    /// This configuration with `changes` (a dict of sections) applied on top.
    fn replace(&self, py: Python<'_>, changes: &Bound<'_, PyDict>) -> PyResult<Self> {
        let merged = self.to_dict(py)?;
        let merged = merged.bind(py).cast::<PyDict>()?.clone();
        for (section, values) in changes.iter() {
            match (merged.get_item(&section)?, values.cast::<PyDict>()) {
                (Some(old), Ok(new)) if old.cast::<PyDict>().is_ok() => {
                    old.cast::<PyDict>()?.update(new.as_mapping())?
                }
                _ => merged.set_item(section, values)?,
            }
        }
        Self::from_dict(py, &merged)
    }

    /// The configuration as nested dicts (what `from_dict` takes back).
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let table: toml::Value = toml::from_str(&self.inner.to_toml())
            .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
        let json = serde_json::to_string(&table)
            .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
        Ok(py.import("json")?.call_method1("loads", (json,))?.unbind())
    }

    /// The TOML text `spikedelay train --config` reads.
    fn to_toml(&self) -> String {
        self.inner.to_toml()
    }

    fn __eq__(&self, other: &RunConfig) -> bool {
        self.inner.to_toml() == other.inner.to_toml()
    }

    fn __repr__(&self) -> String {
        format!(
            "RunConfig(data={}, hidden={:?}, delays={}, epochs={}, seed={})",
            self.inner.data.name(),
            self.inner.model.hidden,
            self.inner.model.delays,
            self.inner.train.epochs,
            self.inner.train.seed
        )
    }
}
