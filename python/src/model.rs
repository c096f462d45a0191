//! `Model`: a checkpoint's rounded (integer-delay) network, run on numpy arrays by the same
//! event-driven engine as `spikedelay eval`.

use std::path::PathBuf;
use std::sync::Arc;

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray3, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use spikedelay::device::{Device, DeviceNetwork};
use spikedelay::export::{ExportFormat, ExportOptions, export};
use spikedelay::infer::{EventNetwork, IntegerDelayNetwork, SampleSteps, evaluate_with};
use spikedelay::seq::Seq;
use spikedelay::train::Checkpoint;

use crate::config::RunConfig;
use crate::errors::to_py;
use crate::stream::Stream;

/// `forward`'s result: readout, decisions, hidden spikes.
type Forward<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>, Vec<Bound<'py, PyAny>>);

/// A trained network loaded from a checkpoint.
#[pyclass(module = "spikedelay", frozen)]
pub struct Model {
    ck: Checkpoint,
    engine: Arc<EventNetwork>,
    /// The rounded model on a device, when `load` was given one.
    device: Option<DeviceNetwork>,
}

fn array3<'py>(py: Python<'py>, s: Seq) -> PyResult<Bound<'py, PyAny>> {
    let (b, t, c) = s.shape();
    Ok(PyArray1::from_vec(py, s.data)
        .reshape([b, t, c])?
        .into_any())
}

/// The decision per sample, as evaluation makes it: over each sample's first `steps[b]`.
fn decisions(v: &Seq, steps: &[usize]) -> Vec<i64> {
    spikedelay::model::decision::decisions(v, Some(steps))
        .into_iter()
        .map(|d| d as i64)
        .collect()
}

impl Model {
    /// The engine's forward pass: the device's (each sample's steps past its length zeroed, as
    /// the event engine ignores them) or the event engine's.
    fn forward_seq(&self, mut x: Seq, lengths: &[usize]) -> spikedelay::Result<(Seq, Vec<Seq>)> {
        match &self.device {
            Some(dev) => {
                let (t, c) = (x.steps, x.channels);
                for (b, &l) in lengths.iter().enumerate() {
                    x.sample_mut(b)[l.min(t) * c..].fill(0.0);
                }
                dev.forward_eval(&x)
            }
            None => self.engine.forward(&x, lengths),
        }
    }

    /// Runs `x` with each sample's own `lengths` (every sample whole without them); returns the
    /// outputs and each sample's readout steps.
    fn run(
        &self,
        py: Python<'_>,
        x: PyReadonlyArray3<f32>,
        lengths: Option<PyReadonlyArray1<i64>>,
    ) -> PyResult<(Seq, Vec<Seq>, Vec<usize>)> {
        let shape = x.shape().to_vec();
        let inputs = self.ck.network.config.inputs;
        if shape[2] != inputs {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "x has {} channels (shape {shape:?}); the network takes {inputs} (batch, time, channels)",
                shape[2]
            )));
        }
        let seq = Seq::from_vec(
            shape[0],
            shape[1],
            shape[2],
            x.as_array().iter().copied().collect(),
        )
        .map_err(to_py)?;
        let lengths: Vec<usize> = match lengths {
            Some(l) => l
                .as_array()
                .iter()
                .map(|&n| usize::try_from(n).unwrap_or(usize::MAX))
                .collect(),
            None => seq.full_lengths(),
        };
        let (v, spikes) = py
            .detach(|| self.forward_seq(seq.clone(), &lengths))
            .map_err(to_py)?;
        let tail = v.steps - seq.steps;
        let own = lengths.iter().map(|&l| l + tail).collect();
        Ok((v, spikes, own))
    }
}

#[pymethods]
impl Model {
    /// Readout membranes `(B, T + (L+1)·R, classes)`, decisions `(B,)` and each hidden layer's
    /// spikes `(B, T + (l+1)·R, neurons)` for `x` `(B, T, channels)` float32. With `lengths`
    /// `(B,)`, sample `b` runs over its own `lengths[b]` steps (its values beyond are zero), as
    /// evaluation runs it.
    #[pyo3(signature = (x, lengths=None))]
    fn forward<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray3<f32>,
        lengths: Option<PyReadonlyArray1<i64>>,
    ) -> PyResult<Forward<'py>> {
        let (v, spikes, own) = self.run(py, x, lengths)?;
        let d = PyArray1::from_vec(py, decisions(&v, &own)).into_any();
        let spikes = spikes
            .into_iter()
            .map(|s| array3(py, s))
            .collect::<PyResult<_>>()?;
        Ok((array3(py, v)?, d, spikes))
    }

    /// The class decision per sample, `(B,)` int64 (each over its own `lengths[b]` steps when
    /// given).
    #[pyo3(signature = (x, lengths=None))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray3<f32>,
        lengths: Option<PyReadonlyArray1<i64>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (v, _, own) = self.run(py, x, lengths)?;
        Ok(PyArray1::from_vec(py, decisions(&v, &own)).into_any())
    }

    /// Integer delays per layer (hidden layers, then the readout): `(out, in, kernel_count)`
    /// int64 arrays, in steps.
    fn delays<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.per_synapse(py, |s| s.delay as f64, true)
    }

    /// Trained weights per layer (BatchNorm not folded), `(out, in, kernel_count)` float32,
    /// aligned with `delays()`.
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.per_synapse(py, |s| s.weight as f64, false)
    }

    /// Evaluates on the checkpoint's own data as `spikedelay eval` does: correct/total, loss and
    /// the confusion matrix of `split` (`valid` or `test`). `eval_steps`: `own` (each sample over
    /// its own steps; the same at any batch size) or `padded-batch` (the reference's).
    #[pyo3(signature = (split="test", batch_size=None, eval_steps=None))]
    fn evaluate(
        &self,
        py: Python<'_>,
        split: &str,
        batch_size: Option<usize>,
        eval_steps: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let c = &self.ck.config;
        let bs = batch_size.unwrap_or(c.train.batch_size).max(1);
        let steps = match eval_steps {
            None => c.train.eval_steps,
            Some("own") => SampleSteps::Own,
            Some("padded-batch") => SampleSteps::PaddedBatch,
            Some(other) => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "eval_steps `{other}`: choose `own` or `padded-batch`"
                )));
            }
        };
        let r = py
            .detach(|| -> spikedelay::Result<_> {
                let splits = c.data.load(c.model.time_step_ms, &mut ())?;
                let data = match split {
                    "valid" => splits.valid,
                    "test" => splits.test,
                    other => {
                        return Err(spikedelay::Error::config(
                            "split",
                            format!("`{other}`: choose `valid` or `test`"),
                        ));
                    }
                };
                let hidden = self.ck.network.blocks.len();
                evaluate_with(data.as_ref(), bs, hidden, steps, |x, l| {
                    self.forward_seq(x.clone(), l)
                })
            })
            .map_err(to_py)?;
        let d = PyDict::new(py);
        d.set_item("accuracy", r.accuracy)?;
        d.set_item("correct", r.correct)?;
        d.set_item("samples", r.samples)?;
        d.set_item("loss", r.loss)?;
        d.set_item("spike_rates", r.spike_rates.clone())?;
        d.set_item("confusion", r.confusion.clone())?;
        d.set_item("decisions", r.decisions.clone())?;
        d.set_item("eval_steps", steps.to_string())?;
        Ok(d.into_any().unbind())
    }

    /// Writes the network as `format` (`nir`, `netx`, `synapses`) to `path` (docs/deploy.md).
    #[pyo3(signature = (format, path, clip_delays=false, nir_dt=None))]
    fn export(
        &self,
        py: Python<'_>,
        format: &str,
        path: PathBuf,
        clip_delays: bool,
        nir_dt: Option<f64>,
    ) -> PyResult<()> {
        let format = match format {
            "nir" => ExportFormat::Nir,
            "netx" => ExportFormat::Netx,
            "synapses" => ExportFormat::Synapses,
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "format `{other}`: choose nir, netx or synapses"
                )));
            }
        };
        let options = ExportOptions {
            clip_delays,
            nir_dt,
        };
        py.detach(|| export(&self.ck, format, &path, &options))
            .map_err(to_py)?;
        Ok(())
    }

    /// A stream of one sample's events at a time through the evaluation engine: its decisions
    /// are `evaluate`'s and `spikedelay stream`'s.
    fn stream(&self) -> Stream {
        let c = &self.ck.config;
        Stream::new(
            self.engine.clone(),
            c.data.stream_binning(c.model.time_step_ms),
        )
    }

    /// The run configuration stored in the checkpoint.
    #[getter]
    fn config(&self) -> RunConfig {
        RunConfig {
            inner: self.ck.config.clone(),
        }
    }

    /// Epochs trained.
    #[getter]
    fn epochs(&self) -> usize {
        self.ck.progress.as_ref().map_or(0, |p| p.epochs_done)
    }

    fn __repr__(&self) -> String {
        let c = &self.ck.network.config;
        format!(
            "Model({} → {:?} → {}, {} delays)",
            c.inputs, c.hidden, c.outputs, self.ck.config.model.delays
        )
    }
}

impl Model {
    fn per_synapse<'py>(
        &self,
        py: Python<'py>,
        f: impl Fn(&spikedelay::infer::integer::Synapse) -> f64,
        int: bool,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let net = IntegerDelayNetwork::from_network(&self.ck.network);
        net.layers
            .iter()
            .map(|layer| {
                let k = layer
                    .synapses
                    .first()
                    .map_or(1, |s| (s.len() / layer.c_out.max(1)).max(1));
                let mut out = vec![0f64; layer.c_out * layer.c_in * k];
                let mut seen = vec![0usize; layer.c_out * layer.c_in];
                for (i, syn) in layer.synapses.iter().enumerate() {
                    for s in syn {
                        let pair = s.target as usize * layer.c_in + i;
                        if seen[pair] < k {
                            out[pair * k + seen[pair]] = f(s);
                            seen[pair] += 1;
                        }
                    }
                }
                let shape = [layer.c_out, layer.c_in, k];
                Ok(if int {
                    let v: Vec<i64> = out.iter().map(|&x| x as i64).collect();
                    PyArray1::from_vec(py, v).reshape(shape)?.into_any()
                } else {
                    let v: Vec<f32> = out.iter().map(|&x| x as f32).collect();
                    PyArray1::from_vec(py, v).reshape(shape)?.into_any()
                })
            })
            .collect()
    }
}

/// Loads a checkpoint written by `train` (`best.safetensors`, `last.safetensors`); its rounded
/// model runs on `device` (`cpu`: the event-driven engine; `cuda`, `cuda:N`, `software`).
#[pyfunction]
#[pyo3(signature = (path, device="cpu"))]
pub fn load(py: Python<'_>, path: PathBuf, device: &str) -> PyResult<Model> {
    let device: Device = device.parse().map_err(to_py)?;
    let (ck, device) = py
        .detach(|| -> spikedelay::Result<_> {
            let ck = Checkpoint::load(&path)?;
            let device = match device.open()? {
                Some(acc) => Some(acc.network(&ck.network, &[])?),
                None => None,
            };
            Ok((ck, device))
        })
        .map_err(to_py)?;
    let engine = Arc::new(EventNetwork::from_network(&ck.network));
    Ok(Model { ck, engine, device })
}
