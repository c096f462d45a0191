//! netx files (HDF5, the layout lava-dl 0.6's `netx.hdf5.Network` loads; docs/deploy.md §4):
//! `layer/<i>` groups from 0, each `type = "dense"`, `shape = [out]`, `inFeatures`, `outFeatures`,
//! `weight` `(out, in)` integers, `bias` (mantissas), `delay` `(out, in)` steps, and a `neuron`
//! group (`type = "CUBA"`, `iDecay`, `vDecay`, `vThMant`, `refDelay`). spikedelay adds, where
//! netx does not look, `spikedelay_scale` per layer and string `spikedelay/<key>` metadata.
//! The reader also takes files written by other tools: a leading `input` layer is skipped, a
//! layer without `neuron` gets netx's default (a non-leaky integrator that never spikes).

use std::collections::BTreeMap;
use std::path::Path;

use hdf5_writer::{DatasetBuilder, Hdf5Builder, WriteOptions};

use super::loihi::{LoihiLayer, LoihiNetwork, NEVER};
use crate::atomic_file::write_atomic;
use crate::error::{Error, Result};
use crate::hdf5_numbers::Hdf5Values;

/// Metadata keys written beside the layers (under `spikedelay/`).
pub const TAIL_KEY: &str = "tail_steps";
/// Step length, ms.
pub const STEP_KEY: &str = "time_step_ms";

/// Writes `net` to `path` atomically, with string `metadata`.
pub fn write_netx(
    path: &Path,
    net: &LoihiNetwork,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let h5 = |e: hdf5_writer::Error| Error::data(path, format!("encoding netx: {e}"));
    let string =
        |name: String, v: &str| DatasetBuilder::vlen_string_data(name, Vec::<u64>::new(), &[v]);
    let mut b = Hdf5Builder::new();
    for (l, layer) in net.layers.iter().enumerate() {
        let p = |f: &str| format!("layer/{l}/{f}");
        let (o, i) = (layer.outputs as u64, layer.inputs as u64);
        let delay: Vec<i32> = layer.delay.iter().map(|&d| d as i32).collect();
        let ints = [
            ("neuron/iDecay", layer.i_decay),
            ("neuron/vDecay", layer.v_decay),
            ("neuron/vThMant", layer.v_th),
            ("neuron/refDelay", 1),
            ("inFeatures", layer.inputs as i32),
            ("outFeatures", layer.outputs as i32),
        ];
        b = b
            .dataset(string(p("type"), "dense").map_err(h5)?)
            .dataset(string(p("neuron/type"), "CUBA").map_err(h5)?)
            .dataset(DatasetBuilder::typed_data(p("shape"), vec![1], &[o as i64]).map_err(h5)?)
            .dataset(
                DatasetBuilder::typed_data(p("weight"), vec![o, i], &layer.weight).map_err(h5)?,
            )
            .dataset(DatasetBuilder::typed_data(p("delay"), vec![o, i], &delay).map_err(h5)?)
            .dataset(DatasetBuilder::typed_data(p("bias"), vec![o], &layer.bias).map_err(h5)?)
            .dataset(
                DatasetBuilder::typed_data(
                    p("spikedelay_scale"),
                    Vec::<u64>::new(),
                    &[layer.scale],
                )
                .map_err(h5)?,
            );
        for (f, v) in ints {
            b = b.dataset(DatasetBuilder::typed_data(p(f), Vec::<u64>::new(), &[v]).map_err(h5)?);
        }
    }
    let mut meta = metadata.clone();
    meta.insert(TAIL_KEY.into(), net.tail_steps.to_string());
    meta.insert(STEP_KEY.into(), net.time_step_ms.to_string());
    for (k, v) in &meta {
        b = b.dataset(string(format!("spikedelay/{k}"), v).map_err(h5)?);
    }
    let bytes = b
        .into_plan()
        .and_then(|plan| plan.encode(WriteOptions::default()))
        .map_err(h5)?;
    write_atomic(path, &bytes)
}

/// Reads a netx file of `dense` layers; returns the network and spikedelay's metadata (empty for
/// files from other tools, whose step length is then 1 ms and tail 0 unless the caller says).
pub fn read_netx(path: &Path) -> Result<(LoihiNetwork, BTreeMap<String, String>)> {
    let err = |m: String| Error::data(path, m);
    if !path.is_file() {
        return Err(Error::NotFound {
            path: path.to_path_buf(),
            what: "a netx file (HDF5)".into(),
        });
    }
    let file = crate::hdf5_open::open(path, "a netx file (HDF5)")?;
    let h = Hdf5Values { file: &file, path };
    let (names, _) = file
        .group("layer")
        .and_then(|g| g.member_names())
        .map_err(|e| {
            err(format!(
                "cannot list `/layer` ({e}); a netx file has layer/0, layer/1, …"
            ))
        })?;
    let mut layers: Vec<LoihiLayer> = Vec::new();
    for l in 0..names.len() {
        let p = |f: &str| format!("layer/{l}/{f}");
        if !names.iter().any(|n| *n == l.to_string()) {
            return Err(err(format!(
                "layers must be numbered 0..{}; `layer/{l}` is missing",
                names.len()
            )));
        }
        let kind = h.string(&p("type"))?;
        match kind.as_str() {
            "input" if l == 0 => continue,
            "dense" => {}
            other => {
                return Err(err(format!(
                    "`layer/{l}` is `{other}`; spikedelay runs `dense` layers (after an optional `input`)"
                )));
            }
        }
        let (shape, weight) = h.numbers(&p("weight"))?;
        let [out, inp] = shape[..] else {
            return Err(err(format!(
                "`layer/{l}/weight` has shape {shape:?}, expected (out, in)"
            )));
        };
        let (out, inp) = (out as usize, inp as usize);
        if let Some(prev) = layers.last()
            && prev.outputs != inp
        {
            return Err(err(format!(
                "`layer/{l}/weight` takes {inp} inputs but the layer before has {} neurons",
                prev.outputs
            )));
        }
        // netx reads weights, biases and delays with numpy's `astype(int)`: truncation toward
        // zero (SLAYER writes its 8-bit weights as floats).
        let as_int = |f: &str, v: Vec<f64>| -> Result<Vec<i32>> {
            v.into_iter()
                .map(|x| {
                    (x.is_finite() && x.abs() < 1e9)
                        .then_some(x.trunc() as i32)
                        .ok_or_else(|| {
                            err(format!(
                                "`layer/{l}/{f}` must hold numbers below 1e9, found {x}"
                            ))
                        })
                })
                .collect()
        };
        let weight = as_int("weight", weight)?;
        if let Some(w) = weight.iter().find(|w| !(-256..=255).contains(*w)) {
            return Err(err(format!(
                "`layer/{l}/weight` holds {w}, outside Loihi's [-256, 255]"
            )));
        }
        let delay = if h.has(&p("delay")) {
            let (ds, d) = h.numbers(&p("delay"))?;
            let d = as_int("delay", d)?;
            let full = match ds.as_slice() {
                [] => vec![d[0]; out * inp],
                [n] if *n as usize == out => (0..out * inp).map(|k| d[k / inp]).collect(),
                [n] if *n as usize == inp => (0..out * inp).map(|k| d[k % inp]).collect(),
                [a, b] if (*a as usize, *b as usize) == (out, inp) => d,
                other => {
                    return Err(err(format!(
                        "`layer/{l}/delay` has shape {other:?}; expected a scalar, ({out}), ({inp}) or ({out}, {inp})"
                    )));
                }
            };
            full.iter()
                .map(|&x| {
                    u8::try_from(x.clamp(0, super::loihi::MAX_DELAY as i32))
                        .map_err(|_| err(format!("`layer/{l}/delay` holds {x}")))
                })
                .collect::<Result<Vec<u8>>>()?
        } else {
            vec![0; out * inp]
        };
        let bias = if h.has(&p("bias")) {
            as_int("bias", h.numbers(&p("bias"))?.1)?
        } else {
            vec![0; out]
        };
        if bias.len() != out {
            return Err(err(format!(
                "`layer/{l}/bias` has {} values for {out} neurons",
                bias.len()
            )));
        }
        let scalar = |f: &str| -> Result<i32> {
            let (_, v) = h.numbers(&p(f))?;
            Ok(as_int(f, v)?[0])
        };
        let (i_decay, v_decay, v_th) = if h.has(&p("neuron/type")) {
            let t = h.string(&p("neuron/type"))?;
            if t != "CUBA" && t != "LOIHI" {
                return Err(err(format!(
                    "`layer/{l}/neuron/type` is `{t}`; spikedelay runs CUBA (LOIHI) neurons"
                )));
            }
            (
                scalar("neuron/iDecay")?,
                scalar("neuron/vDecay")?,
                scalar("neuron/vThMant")?,
            )
        } else {
            (0, 4096, NEVER)
        };
        for (f, v, hi) in [("iDecay", i_decay, 4096), ("vDecay", v_decay, 4096)] {
            if !(0..=hi).contains(&v) {
                return Err(err(format!(
                    "`layer/{l}/neuron/{f}` is {v}, outside 0..=4096"
                )));
            }
        }
        let scale = if h.has(&p("spikedelay_scale")) {
            h.numbers(&p("spikedelay_scale"))?.1[0]
        } else {
            1.0
        };
        layers.push(LoihiLayer {
            inputs: inp,
            outputs: out,
            weight,
            delay,
            bias,
            i_decay,
            v_decay,
            v_th,
            scale,
            spiking: v_th < NEVER,
        });
    }
    if layers.is_empty() {
        return Err(err("no dense layers under `/layer`".into()));
    }
    let mut metadata = BTreeMap::new();
    if let Ok(g) = file.group("spikedelay")
        && let Ok((_, keys)) = g.member_names()
    {
        for k in keys {
            metadata.insert(k.clone(), h.string(&format!("spikedelay/{k}"))?);
        }
    }
    let num = |k: &str, default: f64| -> Result<f64> {
        metadata.get(k).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| err(format!("`spikedelay/{k}` is `{v}`, not a number")))
        })
    };
    let net = LoihiNetwork {
        tail_steps: num(TAIL_KEY, 0.0)? as usize,
        time_step_ms: num(STEP_KEY, 1.0)?,
        layers,
    };
    Ok((net, metadata))
}
