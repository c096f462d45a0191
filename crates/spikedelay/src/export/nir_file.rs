//! NIR files (HDF5, as the NIR reference package 1.0.8 writes and reads them; docs/deploy.md §2):
//! `/version`, and under `/node` the graph: `type = "NIRGraph"`, one group per node in `nodes/`
//! (`type` and one dataset per field), `edges` as an `(N, 2)` array of strings, and optional
//! string `metadata/<key>`. Arrays are read in any float or integer type and width; unknown
//! node types are errors that name the node and list what runs.

use std::collections::BTreeMap;
use std::path::Path;

use hdf5_writer::{DatasetBuilder, Hdf5Builder, WriteOptions};

use super::graph::{Matrix, NirGraph, NirNode};
use crate::atomic_file::write_atomic;
use crate::error::{Error, Result};
use crate::hdf5_numbers::Hdf5Values;

/// The NIR version written into `/version`.
pub const NIR_VERSION: &str = "1.0.8";

/// The node types [`read_nir`] accepts.
pub const RUNNABLE: &str = "Input, Output, Affine, Linear, Scale, Delay, LIF, LI, CubaLIF";

/// Writes `graph` to `path` atomically.
pub fn write_nir(path: &Path, graph: &NirGraph) -> Result<()> {
    let h5 = |e: hdf5_writer::Error| Error::data(path, format!("encoding NIR: {e}"));
    let string =
        |name: String, v: &str| DatasetBuilder::vlen_string_data(name, Vec::<u64>::new(), &[v]);
    let floats =
        |name: String, shape: Vec<u64>, v: &[f32]| DatasetBuilder::typed_data(name, shape, v);
    let mut b = Hdf5Builder::new()
        .dataset(string("version".into(), NIR_VERSION).map_err(h5)?)
        .dataset(string("node/type".into(), "NIRGraph").map_err(h5)?);
    for (name, node) in &graph.nodes {
        if name.contains('/') || name.contains('.') || name.is_empty() {
            return Err(Error::data(
                path,
                format!("node name `{name}` must be non-empty without `/` or `.`"),
            ));
        }
        let p = |f: &str| format!("node/nodes/{name}/{f}");
        b = b.dataset(string(p("type"), node.type_name()).map_err(h5)?);
        let vec1 = |v: &Vec<f32>| vec![v.len() as u64];
        let fields: Vec<(&str, Vec<u64>, &[f32])> = match node {
            NirNode::Input { shape } | NirNode::Output { shape } => {
                b = b.dataset(
                    DatasetBuilder::typed_data(p("shape"), vec![shape.len() as u64], shape)
                        .map_err(h5)?,
                );
                vec![]
            }
            NirNode::Affine { weight, bias } => vec![
                (
                    "weight",
                    vec![weight.rows as u64, weight.cols as u64],
                    &weight.data,
                ),
                ("bias", vec1(bias), bias),
            ],
            NirNode::Linear { weight } => vec![(
                "weight",
                vec![weight.rows as u64, weight.cols as u64],
                &weight.data,
            )],
            NirNode::Scale { scale } => vec![("scale", vec1(scale), scale)],
            NirNode::Delay { delay } => vec![("delay", vec1(delay), delay)],
            NirNode::Lif {
                tau,
                r,
                v_leak,
                v_threshold,
                v_reset,
            } => vec![
                ("tau", vec1(tau), tau),
                ("r", vec1(r), r),
                ("v_leak", vec1(v_leak), v_leak),
                ("v_threshold", vec1(v_threshold), v_threshold),
                ("v_reset", vec1(v_reset), v_reset),
            ],
            NirNode::Li { tau, r, v_leak } => vec![
                ("tau", vec1(tau), tau),
                ("r", vec1(r), r),
                ("v_leak", vec1(v_leak), v_leak),
            ],
            NirNode::CubaLif {
                tau_syn,
                tau_mem,
                r,
                v_leak,
                v_threshold,
                v_reset,
                w_in,
            } => vec![
                ("tau_syn", vec1(tau_syn), tau_syn),
                ("tau_mem", vec1(tau_mem), tau_mem),
                ("r", vec1(r), r),
                ("v_leak", vec1(v_leak), v_leak),
                ("v_threshold", vec1(v_threshold), v_threshold),
                ("v_reset", vec1(v_reset), v_reset),
                ("w_in", vec1(w_in), w_in),
            ],
        };
        for (f, shape, v) in fields {
            b = b.dataset(floats(p(f), shape, v).map_err(h5)?);
        }
    }
    let flat: Vec<&str> = graph
        .edges
        .iter()
        .flat_map(|(a, c)| [a.as_str(), c.as_str()])
        .collect();
    b = b.dataset(
        DatasetBuilder::vlen_string_data("node/edges", vec![graph.edges.len() as u64, 2], &flat)
            .map_err(h5)?,
    );
    for (k, v) in &graph.metadata {
        b = b.dataset(string(format!("node/metadata/{k}"), v).map_err(h5)?);
    }
    let bytes = b
        .into_plan()
        .and_then(|plan| plan.encode(WriteOptions::default()))
        .map_err(h5)?;
    write_atomic(path, &bytes)
}

/// Reads a NIR file written by any tool; errors name the file and the node or field.
pub fn read_nir(path: &Path) -> Result<NirGraph> {
    let err = |m: String| Error::data(path, m);
    if !path.is_file() {
        return Err(Error::NotFound {
            path: path.to_path_buf(),
            what: "a NIR file (HDF5)".into(),
        });
    }
    let file = crate::hdf5_open::open(path, "a NIR file (HDF5)")?;
    let values = Hdf5Values { file: &file, path };
    let string = |p: &str| values.string(p);
    let numbers = |p: &str| values.numbers(p);
    let top = string("node/type")?;
    if top != "NIRGraph" {
        return Err(err(format!("`/node/type` is `{top}`, expected `NIRGraph`")));
    }
    let (node_names, _) = file
        .group("node/nodes")
        .and_then(|g| g.member_names())
        .map_err(|e| err(format!("cannot list `/node/nodes` ({e})")))?;
    let mut nodes = BTreeMap::new();
    for name in node_names {
        let p = |f: &str| format!("node/nodes/{name}/{f}");
        let kind = string(&p("type"))?;
        let vec = |f: &str| -> Result<Vec<f32>> {
            let (_, v) = numbers(&p(f))?;
            Ok(v.into_iter().map(|x| x as f32).collect())
        };
        let vec_or_zeros = |f: &str, n: usize| -> Result<Vec<f32>> {
            if values.has(&p(f)) {
                vec(f)
            } else {
                Ok(vec![0.0; n])
            }
        };
        let matrix = |f: &str| -> Result<Matrix> {
            let (shape, v) = numbers(&p(f))?;
            match shape.as_slice() {
                [rows, cols] => Ok(Matrix {
                    rows: *rows as usize,
                    cols: *cols as usize,
                    data: v.into_iter().map(|x| x as f32).collect(),
                }),
                other => Err(err(format!(
                    "node `{name}`: `{f}` has shape {other:?}, expected (out, in)"
                ))),
            }
        };
        let shape = |f: &str| -> Result<Vec<i64>> {
            Ok(numbers(&p(f))?.1.into_iter().map(|x| x as i64).collect())
        };
        let node = match kind.as_str() {
            "Input" => NirNode::Input {
                shape: shape("shape")?,
            },
            "Output" => NirNode::Output {
                shape: shape("shape")?,
            },
            "Affine" => NirNode::Affine {
                weight: matrix("weight")?,
                bias: vec("bias")?,
            },
            "Linear" => NirNode::Linear {
                weight: matrix("weight")?,
            },
            "Scale" => NirNode::Scale {
                scale: vec("scale")?,
            },
            "Delay" => NirNode::Delay {
                delay: vec("delay")?,
            },
            "LIF" => {
                let tau = vec("tau")?;
                let n = tau.len();
                NirNode::Lif {
                    r: vec("r")?,
                    v_leak: vec("v_leak")?,
                    v_threshold: vec("v_threshold")?,
                    v_reset: vec_or_zeros("v_reset", n)?,
                    tau,
                }
            }
            "LI" => NirNode::Li {
                tau: vec("tau")?,
                r: vec("r")?,
                v_leak: vec("v_leak")?,
            },
            "CubaLIF" => {
                let tau_mem = vec("tau_mem")?;
                let n = tau_mem.len();
                NirNode::CubaLif {
                    tau_syn: vec("tau_syn")?,
                    r: vec("r")?,
                    v_leak: vec("v_leak")?,
                    v_threshold: vec("v_threshold")?,
                    v_reset: vec_or_zeros("v_reset", n)?,
                    w_in: if file.dataset(&p("w_in")).is_ok() {
                        vec("w_in")?
                    } else {
                        vec![1.0; n]
                    },
                    tau_mem,
                }
            }
            other => {
                return Err(err(format!(
                    "node `{name}` is a `{other}`, which spikedelay cannot run (it runs {RUNNABLE})"
                )));
            }
        };
        nodes.insert(name, node);
    }
    let flat = file
        .dataset("node/edges")
        .and_then(|d| d.read_strings())
        .map_err(|e| err(format!("cannot read `/node/edges` ({e})")))?;
    if flat.len() % 2 != 0 {
        return Err(err("`/node/edges` must be an (N, 2) array of names".into()));
    }
    let edges = flat
        .chunks_exact(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    let mut metadata = BTreeMap::new();
    if let Ok(g) = file.group("node/metadata") {
        let (_, names) = g
            .member_names()
            .map_err(|e| err(format!("cannot list `/node/metadata` ({e})")))?;
        for k in names {
            if let Ok(v) = string(&format!("node/metadata/{k}")) {
                metadata.insert(k, v);
            } else if let Ok((_, v)) = numbers(&format!("node/metadata/{k}")) {
                let text: Vec<String> = v.iter().map(|x| x.to_string()).collect();
                metadata.insert(k, text.join(","));
            }
        }
    }
    Ok(NirGraph {
        nodes,
        edges,
        metadata,
    })
}
