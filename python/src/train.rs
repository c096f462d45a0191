//! `train(...)`: the Rust trainer with the interpreter detached, on a pool worker. The calling
//! thread checks for Ctrl-C every 20 ms; the observer re-attaches after each epoch to call the
//! user's callback. Either stops the run after the current batch, leaving the last finished
//! epoch's checkpoint intact.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray3, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use spikedelay::data::{ArrayData, LoadProgress, Splits, make_batch};
use spikedelay::train::{
    DataSource, EpochMetrics, Existing, RunLayout, RunObserver, RunOutcome, RunPlan, TrainObserver,
};

use crate::config::RunConfig;
use crate::errors::to_py;

/// Reports to Python: the epoch callback, and the stop flag the calling thread raises when it
/// sees Ctrl-C (Python delivers signals to the main thread only, and the run is on a worker).
struct PyObserver<'a> {
    callback: Option<Py<PyAny>>,
    error: Option<PyErr>,
    interrupted: &'a AtomicBool,
}

impl TrainObserver for PyObserver<'_> {
    fn epoch_finished(&mut self, metrics: &EpochMetrics) {
        let Some(cb) = &self.callback else { return };
        if self.error.is_some() {
            return;
        }
        let json = serde_json::to_string(metrics).expect("metrics serialise");
        if let Err(e) = Python::attach(|py| -> PyResult<()> {
            let d = py.import("json")?.call_method1("loads", (json,))?;
            cb.call1(py, (d,))?;
            Ok(())
        }) {
            self.error = Some(e);
        }
    }

    fn should_stop(&mut self) -> bool {
        self.error.is_some() || self.interrupted.load(Ordering::Relaxed)
    }
}

impl LoadProgress for PyObserver<'_> {}

impl RunObserver for PyObserver<'_> {}

/// One split from `(x, y)` or `(x, y, lengths)` numpy arrays.
fn split(what: &str, item: &Bound<'_, PyAny>, classes: usize) -> PyResult<ArrayData> {
    let t = item.cast::<PyTuple>().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(format!(
            "data[{what}] must be a tuple (x, y) or (x, y, lengths)"
        ))
    })?;
    if !(2..=3).contains(&t.len()) {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "data[{what}] must be (x, y) or (x, y, lengths), got {} items",
            t.len()
        )));
    }
    let x: PyReadonlyArray3<f32> = t.get_item(0)?.extract()?;
    let y: PyReadonlyArray1<i64> = t.get_item(1)?.extract()?;
    let lengths = match t.len() {
        3 => {
            let l: PyReadonlyArray1<i64> = t.get_item(2)?.extract()?;
            Some(l.as_array().iter().map(|&v| v.max(0) as usize).collect())
        }
        _ => None,
    };
    let shape = x.shape();
    let labels: Vec<usize> = y
        .as_array()
        .iter()
        .map(|&v| usize::try_from(v).unwrap_or(usize::MAX))
        .collect();
    ArrayData::new(
        what,
        x.as_array().iter().copied().collect(),
        (shape[0], shape[1], shape[2]),
        labels,
        lengths,
        classes,
    )
    .map_err(to_py)
}

fn splits_from(data: &Bound<'_, PyDict>) -> PyResult<Splits> {
    let get = |k: &str| -> PyResult<Bound<'_, PyAny>> {
        data.get_item(k)?.ok_or_else(|| {
            pyo3::exceptions::PyKeyError::new_err(format!(
                "data needs `train`, `valid` and `test`; `{k}` is missing"
            ))
        })
    };
    let classes = {
        let y: PyReadonlyArray1<i64> = get("train")?.cast::<PyTuple>()?.get_item(1)?.extract()?;
        y.as_array().iter().copied().max().unwrap_or(0).max(0) as usize + 1
    };
    let classes = match data.get_item("classes")? {
        Some(c) => c.extract()?,
        None => classes,
    };
    Ok(Splits {
        train: Box::new(split("train", &get("train")?, classes)?),
        valid: Box::new(split("valid", &get("valid")?, classes)?),
        test: Box::new(split("test", &get("test")?, classes)?),
        valid_is_test: false,
    })
}

/// Trains `config` (on its own data, or on `data`) as `spikedelay train` does, through the
/// library's run manager: into `out` when given (refused if it holds a run, unless `overwrite`;
/// continued with `resume`), once or once per seed of `seeds` (`out/seed<k>/` and
/// `aggregate.json`), with the training batches on `device` (`auto`, `cpu`, `cuda`, `cuda:N`).
#[pyfunction]
#[pyo3(signature = (config, out=None, callback=None, data=None, overwrite=false, seeds=None, resume=false, device="auto"))]
#[allow(clippy::too_many_arguments)]
pub fn train(
    py: Python<'_>,
    config: &RunConfig,
    out: Option<PathBuf>,
    callback: Option<Py<PyAny>>,
    data: Option<Bound<'_, PyDict>>,
    overwrite: bool,
    seeds: Option<Vec<u64>>,
    resume: bool,
    device: &str,
) -> PyResult<Py<PyAny>> {
    let device: spikedelay::device::Device = device.parse().map_err(to_py)?;
    if resume && out.is_none() {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "resume=True continues the run in `out`; give out",
        ));
    }
    if resume && overwrite {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "resume and overwrite exclude each other",
        ));
    }
    let plan = RunPlan {
        config: config.inner.clone(),
        layout: out.map(RunLayout::new),
        seeds,
        existing: if resume {
            Existing::Resume
        } else if overwrite {
            Existing::Overwrite
        } else {
            Existing::Refuse
        },
        data_dir: None,
        collective: None,
        device,
    };
    let given = data.as_ref().map(splits_from).transpose()?;
    let interrupted = AtomicBool::new(false);
    let mut observer = PyObserver {
        callback,
        error: None,
        interrupted: &interrupted,
    };
    let mut signal: Option<PyErr> = None;
    let result = py.detach(|| -> spikedelay::Result<RunOutcome> {
        let source = match &given {
            Some(s) => DataSource::Given(s),
            None => DataSource::Config,
        };
        // As the CLI does: the run itself on a pool worker, so that every parallel loop inside
        // starts without a hand-off. This thread watches for Ctrl-C meanwhile.
        let pool = rayon::ThreadPoolBuilder::new()
            .build()
            .map_err(|e| spikedelay::Error::config("threads", e.to_string()))?;
        std::thread::scope(|scope| {
            let run = scope.spawn(|| pool.install(|| plan.run_on(source, &mut observer)));
            while !run.is_finished() {
                std::thread::sleep(Duration::from_millis(20));
                if signal.is_none()
                    && let Err(e) = Python::attach(|py| py.check_signals())
                {
                    signal = Some(e);
                    interrupted.store(true, Ordering::Relaxed);
                }
            }
            run.join().expect("the training thread does not panic")
        })
    });
    if let Some(e) = observer.error.or(signal) {
        return Err(e);
    }
    let json = match result.map_err(to_py)? {
        RunOutcome::One(summary) => serde_json::to_string(&summary),
        RunOutcome::Seeds {
            summaries,
            aggregate,
        } => serde_json::to_string(&serde_json::json!({
            "summaries": summaries,
            "aggregate": aggregate,
        })),
    }
    .expect("summaries serialise");
    Ok(py.import("json")?.call_method1("loads", (json,))?.unbind())
}

/// Loads `config`'s data: per split `(x (N, T, C) float32, y (N,) int64, lengths (N,) int64)`,
/// samples zero-padded to the split's longest.
#[pyfunction]
pub fn load_splits(py: Python<'_>, config: &RunConfig) -> PyResult<Py<PyAny>> {
    let c = &config.inner;
    type Split = (Vec<f32>, [usize; 3], Vec<i64>, Vec<i64>);
    let (parts, classes, names) = py
        .detach(|| -> spikedelay::Result<(Vec<Split>, usize, Vec<String>)> {
            let splits = c.data.load(c.model.time_step_ms, &mut ())?;
            let parts = [&splits.train, &splits.valid, &splits.test]
                .iter()
                .map(|d| {
                    let idx: Vec<usize> = (0..d.len()).collect();
                    let batch = make_batch(d.as_ref(), &idx);
                    let (n, t, ch) = batch.x.shape();
                    let y = batch.labels.iter().map(|&v| v as i64).collect();
                    let lengths = idx.iter().map(|&i| d.steps(i) as i64).collect();
                    (batch.x.data, [n, t, ch], y, lengths)
                })
                .collect();
            Ok((parts, splits.train.classes(), splits.train.class_names()))
        })
        .map_err(to_py)?;
    let out = PyDict::new(py);
    for (name, (x, shape, y, lengths)) in ["train", "valid", "test"].into_iter().zip(parts) {
        let x = PyArray1::from_vec(py, x).reshape(shape)?;
        out.set_item(
            name,
            (
                x,
                PyArray1::from_vec(py, y),
                PyArray1::from_vec(py, lengths),
            ),
        )?;
    }
    out.set_item("classes", classes)?;
    out.set_item("class_names", names)?;
    Ok(out.into_any().unbind())
}
