//! `NirGraph`: a neural network as a graph of NIR primitives (docs/deploy.md §2), the form in
//! which spikedelay writes, reads and runs exported networks.
//!
//! Nodes hold their parameters as NIR names them. Edges `(src, dst)` carry one signal per time
//! step, and a node with several incoming edges receives their sum. Only feed-forward graphs
//! are accepted (no cycles), with one `Input` and at least one `Output`.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// A dense matrix `(rows, cols)`, row-major (NIR's `(out, in)` weight layout).
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Rows (outputs).
    pub rows: usize,
    /// Columns (inputs).
    pub cols: usize,
    /// `rows × cols` values, row-major.
    pub data: Vec<f32>,
}

/// One NIR primitive with its parameters (times in seconds, as NIR files store them).
#[derive(Debug, Clone, PartialEq)]
pub enum NirNode {
    /// The graph's input, `shape` channels.
    Input {
        /// Signal shape (one dimension: channels).
        shape: Vec<i64>,
    },
    /// A graph output.
    Output {
        /// Signal shape.
        shape: Vec<i64>,
    },
    /// `y = W·x + b`.
    Affine {
        /// `W` `(out, in)`.
        weight: Matrix,
        /// `b` `(out)`.
        bias: Vec<f32>,
    },
    /// `y = W·x`.
    Linear {
        /// `W` `(out, in)`.
        weight: Matrix,
    },
    /// `y = s ⊙ x`.
    Scale {
        /// `s`.
        scale: Vec<f32>,
    },
    /// `y(t) = x(t − delay)`, element-wise.
    Delay {
        /// Delay of each element, seconds.
        delay: Vec<f32>,
    },
    /// `τ·dv/dt = (v_leak − v) + r·I`; spike when `v > v_threshold`, then `v = v_reset`.
    Lif {
        /// `τ`, seconds.
        tau: Vec<f32>,
        /// `r`.
        r: Vec<f32>,
        /// `v_leak`.
        v_leak: Vec<f32>,
        /// `v_threshold`.
        v_threshold: Vec<f32>,
        /// `v_reset`.
        v_reset: Vec<f32>,
    },
    /// `τ·dv/dt = (v_leak − v) + r·I`, no spikes: the output is `v`.
    Li {
        /// `τ`, seconds.
        tau: Vec<f32>,
        /// `r`.
        r: Vec<f32>,
        /// `v_leak`.
        v_leak: Vec<f32>,
    },
    /// A LIF neuron fed by a leaky synaptic current:
    /// `τ_syn·dI/dt = −I + w_in·x`, `τ_mem·dv/dt = (v_leak − v) + r·I`.
    CubaLif {
        /// `τ_syn`, seconds.
        tau_syn: Vec<f32>,
        /// `τ_mem`, seconds.
        tau_mem: Vec<f32>,
        /// `r`.
        r: Vec<f32>,
        /// `v_leak`.
        v_leak: Vec<f32>,
        /// `v_threshold`.
        v_threshold: Vec<f32>,
        /// `v_reset`.
        v_reset: Vec<f32>,
        /// `w_in`.
        w_in: Vec<f32>,
    },
}

impl NirNode {
    /// The NIR wire name of the node's type.
    pub fn type_name(&self) -> &'static str {
        match self {
            NirNode::Input { .. } => "Input",
            NirNode::Output { .. } => "Output",
            NirNode::Affine { .. } => "Affine",
            NirNode::Linear { .. } => "Linear",
            NirNode::Scale { .. } => "Scale",
            NirNode::Delay { .. } => "Delay",
            NirNode::Lif { .. } => "LIF",
            NirNode::Li { .. } => "LI",
            NirNode::CubaLif { .. } => "CubaLIF",
        }
    }

    /// `(inputs, outputs)` of the node's signal.
    pub fn sizes(&self) -> (usize, usize) {
        let width = |s: &[i64]| s.iter().product::<i64>().max(0) as usize;
        match self {
            NirNode::Input { shape } | NirNode::Output { shape } => (width(shape), width(shape)),
            NirNode::Affine { weight, .. } | NirNode::Linear { weight } => {
                (weight.cols, weight.rows)
            }
            NirNode::Scale { scale: v }
            | NirNode::Delay { delay: v }
            | NirNode::Lif { tau: v, .. }
            | NirNode::Li { tau: v, .. }
            | NirNode::CubaLif { tau_mem: v, .. } => (v.len(), v.len()),
        }
    }

    /// Checks that the parameter vectors agree in length (and weights with their shape).
    fn check(&self, name: &str) -> Result<()> {
        let bad = |m: String| Error::config(format!("node `{name}`"), m);
        let (n, _) = self.sizes();
        let same = |fields: &[(&str, &Vec<f32>)]| -> Result<()> {
            for (f, v) in fields {
                if v.len() != n {
                    return Err(bad(format!("`{f}` has {} values, expected {n}", v.len())));
                }
            }
            Ok(())
        };
        match self {
            NirNode::Affine { weight, bias } => {
                if weight.data.len() != weight.rows * weight.cols {
                    return Err(bad("`weight` does not match its shape".into()));
                }
                if bias.len() != weight.rows {
                    return Err(bad(format!(
                        "`bias` has {} values, the weight {} rows",
                        bias.len(),
                        weight.rows
                    )));
                }
                Ok(())
            }
            NirNode::Linear { weight } if weight.data.len() != weight.rows * weight.cols => {
                Err(bad("`weight` does not match its shape".into()))
            }
            NirNode::Lif {
                r,
                v_leak,
                v_threshold,
                v_reset,
                ..
            } => same(&[
                ("r", r),
                ("v_leak", v_leak),
                ("v_threshold", v_threshold),
                ("v_reset", v_reset),
            ]),
            NirNode::Li { r, v_leak, .. } => same(&[("r", r), ("v_leak", v_leak)]),
            NirNode::CubaLif {
                tau_syn,
                r,
                v_leak,
                v_threshold,
                v_reset,
                w_in,
                ..
            } => same(&[
                ("tau_syn", tau_syn),
                ("r", r),
                ("v_leak", v_leak),
                ("v_threshold", v_threshold),
                ("v_reset", v_reset),
                ("w_in", w_in),
            ]),
            _ => Ok(()),
        }
    }
}

/// A graph of NIR nodes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NirGraph {
    /// Nodes by name.
    pub nodes: BTreeMap<String, NirNode>,
    /// `(source, destination)` pairs.
    pub edges: Vec<(String, String)>,
    /// String metadata (`/node/metadata/<key>`); never needed to run the graph.
    pub metadata: BTreeMap<String, String>,
}

impl NirGraph {
    /// Node names in an order where every edge points forward; errors name the problem
    /// (unknown node in an edge, a cycle, no input, mismatched sizes).
    pub fn order(&self) -> Result<Vec<String>> {
        let bad = |m: String| Error::config("graph", m);
        for (name, node) in &self.nodes {
            node.check(name)?;
        }
        for (a, b) in &self.edges {
            for n in [a, b] {
                if !self.nodes.contains_key(n) {
                    return Err(bad(format!("edge ({a}, {b}) names no node `{n}`")));
                }
            }
        }
        let inputs: Vec<&String> = self
            .nodes
            .iter()
            .filter(|(_, n)| matches!(n, NirNode::Input { .. }))
            .map(|(k, _)| k)
            .collect();
        if inputs.len() != 1 {
            return Err(bad(format!(
                "has {} Input nodes, expected exactly one",
                inputs.len()
            )));
        }
        let mut indegree: BTreeMap<&String, usize> = self.nodes.keys().map(|k| (k, 0)).collect();
        for (_, b) in &self.edges {
            *indegree.get_mut(b).expect("checked") += 1;
        }
        let mut ready: Vec<&String> = indegree
            .iter()
            .filter(|(_, d)| **d == 0)
            .map(|(k, _)| *k)
            .collect();
        let mut order = Vec::new();
        while let Some(n) = ready.pop() {
            order.push(n.clone());
            for (a, b) in &self.edges {
                if a == n {
                    let d = indegree.get_mut(b).expect("checked");
                    *d -= 1;
                    if *d == 0 {
                        ready.push(b);
                    }
                }
            }
        }
        if order.len() != self.nodes.len() {
            return Err(bad(
                "has a cycle (recurrent connections), which this executor does not run".into(),
            ));
        }
        for (a, b) in &self.edges {
            let (out, inp) = (self.nodes[a].sizes().1, self.nodes[b].sizes().0);
            if out != inp {
                return Err(bad(format!(
                    "edge ({a}, {b}) carries {out} values into a node of {inp} inputs"
                )));
            }
        }
        Ok(order)
    }
}
