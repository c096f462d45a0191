//! Checkpoints: a network's parameters (unrounded, method §15), its configuration and, for
//! `--resume`, the optimiser state and training progress, in one safetensors file written
//! atomically.
//!
//! Tensors (f32): `layers.{l}.weight` and `layers.{l}.position` `(c_out, c_in, kc)` for every delay
//! layer (the output layer last), `blocks.{l}.norm.{gamma,beta,running_mean,running_var}`, and
//! with optimiser state `optim.{weights,positions,gamma,beta}.{l}.{m,v}`. Metadata (strings):
//! `format`, `config` (TOML), `network` (JSON), `layers` (JSON: SIG and kernel per layer), and
//! optionally `optim`, `progress` and `provenance` (JSON: the code, build, machine and data,
//! [`Provenance`]), and `checksum`: `sha256:HEX` over the other metadata
//! (sorted by key) and every tensor's name, shape and bytes (sorted by name), verified on load so
//! that flipped or truncated bytes are an error rather than a silently different network.

use std::collections::HashMap;
use std::path::Path;

use rand::SeedableRng;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use super::optim::{Adam, NetworkOptimizer};
use super::provenance::Provenance;
use crate::atomic_file::write_atomic;
use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::model::{KernelKind, Network, NetworkConfig, ParamId, Sig};

/// Value of the `format` metadata key.
pub const FORMAT: &str = "spikedelay-checkpoint-1";

/// Where training stood when a checkpoint was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Completed epochs.
    pub epochs_done: usize,
    /// Epoch with the best validation accuracy so far (0-based).
    pub best_epoch: usize,
    /// Its validation accuracy.
    pub best_valid_accuracy: f64,
    /// Its test accuracy.
    pub best_test_accuracy: f64,
    /// Training wall time so far, seconds.
    pub wall_seconds: f64,
}

/// What a checkpoint holds.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The run's configuration.
    pub config: RunConfig,
    /// The network (unrounded parameters).
    pub network: Network,
    /// Optimiser state, for resuming.
    pub optimizer: Option<NetworkOptimizer>,
    /// Progress, for resuming.
    pub progress: Option<Progress>,
    /// What made it (`None` in checkpoints written before it was recorded).
    pub provenance: Option<Provenance>,
}

#[derive(Serialize, Deserialize)]
struct LayerMeta {
    sig: Sig,
    kernel: KernelKind,
}

#[derive(Serialize, Deserialize)]
struct AdamMeta {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    step: u64,
}

impl From<&Adam> for AdamMeta {
    fn from(a: &Adam) -> Self {
        AdamMeta {
            lr: a.lr,
            beta1: a.beta1,
            beta2: a.beta2,
            eps: a.eps,
            step: a.step,
        }
    }
}

impl From<AdamMeta> for Adam {
    fn from(a: AdamMeta) -> Self {
        Adam {
            lr: a.lr,
            beta1: a.beta1,
            beta2: a.beta2,
            eps: a.eps,
            step: a.step,
        }
    }
}

fn bytes_of(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Fails with [`Error::Truncated`] when `bytes` end before the length a safetensors header
/// gives: 8 bytes of header length `n`, `n` bytes of JSON header, then every tensor's data up to
/// its largest `data_offsets` end.
fn check_length(path: &Path, bytes: &[u8]) -> Result<()> {
    let truncated = |expected: u64| Error::Truncated {
        path: path.to_path_buf(),
        format: "safetensors",
        size: bytes.len() as u64,
        expected,
    };
    let Some(n) = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    else {
        return Err(truncated(8));
    };
    let header_end = 8u64.saturating_add(n);
    if (bytes.len() as u64) < header_end {
        return Err(truncated(header_end));
    }
    let header: serde_json::Map<String, serde_json::Value> =
        match serde_json::from_slice(&bytes[8..header_end as usize]) {
            Ok(h) => h,
            Err(_) => return Ok(()), // not ours to judge: the reader names what is wrong
        };
    let data_end = header
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .filter_map(|(_, t)| t.get("data_offsets")?.get(1)?.as_u64())
        .max()
        .unwrap_or(0);
    if (bytes.len() as u64) < header_end.saturating_add(data_end) {
        return Err(truncated(header_end + data_end));
    }
    Ok(())
}

/// The stem of a tensor's optimiser moments: `optim.{group}.{layer}` (`.m`, `.v`).
fn optim_name(id: &ParamId) -> String {
    let group = id.kind.group().expect("only trained tensors have moments");
    format!("optim.{group}.{}", id.layer)
}

impl Checkpoint {
    /// Writes the checkpoint to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let net = &self.network;
        let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
        for (id, v) in net.params() {
            tensors.push((id.name(), id.shape, bytes_of(v)));
        }
        let mut meta = HashMap::new();
        meta.insert("format".to_string(), FORMAT.to_string());
        meta.insert("config".to_string(), self.config.to_toml());
        meta.insert("network".to_string(), json(&net.config));
        let layers: Vec<LayerMeta> = net
            .layers()
            .map(|l| LayerMeta {
                sig: l.sig,
                kernel: l.kind,
            })
            .collect();
        meta.insert("layers".to_string(), json(&layers));
        if let Some(opt) = &self.optimizer {
            for (id, st) in &opt.states {
                let stem = optim_name(id);
                tensors.push((format!("{stem}.m"), vec![st.m.len()], bytes_of(&st.m)));
                tensors.push((format!("{stem}.v"), vec![st.v.len()], bytes_of(&st.v)));
            }
            let adams: HashMap<&str, AdamMeta> = [
                ("weights", (&opt.weights).into()),
                ("positions", (&opt.positions).into()),
            ]
            .into_iter()
            .collect();
            meta.insert("optim".to_string(), json(&adams));
        }
        if let Some(p) = &self.provenance {
            meta.insert("provenance".to_string(), json(p));
        }
        if let Some(p) = &self.progress {
            meta.insert("progress".to_string(), json(p));
        }
        let views = tensors
            .iter()
            .map(|(name, shape, data)| {
                TensorView::new(Dtype::F32, shape.clone(), data)
                    .map(|view| (name.clone(), view))
                    .map_err(|e| {
                        Error::checkpoint(
                            path,
                            format!("tensor `{name}` does not match its shape: {e}"),
                        )
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        let sums: Vec<(&str, &[usize], &[u8])> = tensors
            .iter()
            .map(|(n, sh, d)| (n.as_str(), sh.as_slice(), d.as_slice()))
            .collect();
        meta.insert(CHECKSUM.to_string(), checksum(&meta, sums));
        let bytes = safetensors::serialize(views, Some(meta))
            .map_err(|e| Error::checkpoint(path, format!("cannot serialise: {e}")))?;
        write_atomic(path, &bytes)
    }

    /// Reads a checkpoint, checking every tensor's presence, dtype and shape. A run folder
    /// stands for its `best.safetensors` ([`crate::train::RunLayout::checkpoint`]).
    pub fn load(path: &Path) -> Result<Self> {
        let resolved = crate::train::RunLayout::checkpoint(path)?;
        let path = resolved.as_path();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            action: "reading checkpoint",
            path: path.to_path_buf(),
            source,
        })?;
        check_length(path, &bytes)?;
        let err = |m: String| Error::checkpoint(path, m);
        let (_, header) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| err(format!("not a readable safetensors file ({e})")))?;
        let st = SafeTensors::deserialize(&bytes)
            .map_err(|e| err(format!("not a readable safetensors file ({e})")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        if let Some(stored) = meta.get(CHECKSUM) {
            let tensors = st.tensors();
            let sums: Vec<(&str, &[usize], &[u8])> = tensors
                .iter()
                .map(|(n, t)| (n.as_str(), t.shape(), t.data()))
                .collect();
            let actual = checksum(&meta, sums);
            if *stored != actual {
                return Err(err(format!(
                    "checksum mismatch (metadata `{CHECKSUM}` is {stored}, the contents hash to \
                     {actual}): the file is damaged; use another copy or an earlier checkpoint"
                )));
            }
        }
        let get = |key: &str| {
            meta.get(key)
                .ok_or_else(|| err(format!("missing metadata key `{key}`")))
        };
        if get("format")? != FORMAT {
            return Err(err(format!(
                "metadata `format` is `{}`, expected `{FORMAT}`",
                get("format")?
            )));
        }
        let config = RunConfig::from_toml_str(get("config")?)
            .map_err(|e| err(format!("metadata `config`: {e}")))?;
        let net_config: NetworkConfig = serde_json::from_str(get("network")?)
            .map_err(|e| err(format!("metadata `network`: {e}")))?;
        let layer_meta: Vec<LayerMeta> = serde_json::from_str(get("layers")?)
            .map_err(|e| err(format!("metadata `layers`: {e}")))?;
        let declared: f64 = st
            .tensors()
            .iter()
            .map(|(_, t)| t.data().len() as f64)
            .sum();
        let widths: Vec<usize> = std::iter::once(net_config.inputs)
            .chain(net_config.hidden.iter().copied())
            .chain(std::iter::once(net_config.outputs))
            .collect();
        let parameters: f64 = widths
            .windows(2)
            .map(|w| 8.0 * w[0] as f64 * w[1] as f64 * net_config.kernel_count as f64)
            .sum();
        if parameters > declared {
            return Err(err(format!(
                "metadata `network` describes {parameters} bytes of weights and positions, the \
                 file holds {declared} bytes of tensors"
            )));
        }
        net_config
            .memory_estimate(1, None)
            .check(&format!("loading {}", path.display()))?;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut network = Network::new(&net_config, &mut rng)
            .map_err(|e| err(format!("metadata `network`: {e}")))?;
        network.conv_path = config.model.conv_path;
        if layer_meta.len() != network.blocks.len() + 1 {
            return Err(err(format!(
                "metadata `layers` lists {} layers, the network has {}",
                layer_meta.len(),
                network.blocks.len() + 1
            )));
        }
        let read = |name: &str, expect: &[usize]| -> Result<Vec<f32>> {
            let t = st
                .tensor(name)
                .map_err(|_| err(format!("missing tensor `{name}`")))?;
            if t.dtype() != Dtype::F32 {
                return Err(err(format!(
                    "tensor `{name}` has dtype {:?}, expected F32",
                    t.dtype()
                )));
            }
            if t.shape() != expect {
                return Err(err(format!(
                    "tensor `{name}` has shape {:?}, expected {expect:?}",
                    t.shape()
                )));
            }
            Ok(t.data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect())
        };
        for (id, values) in network.params_mut() {
            *values = read(&id.name(), &id.shape)?;
        }
        for (layer, lm) in network.layers_mut().zip(&layer_meta) {
            layer.sig = lm.sig;
            layer.kind = lm.kernel;
        }
        let optimizer = match meta.get("optim") {
            None => None,
            Some(text) => {
                let mut adams: HashMap<String, AdamMeta> = serde_json::from_str(text)
                    .map_err(|e| err(format!("metadata `optim`: {e}")))?;
                let mut take = |k: &str| {
                    adams
                        .remove(k)
                        .ok_or_else(|| err(format!("metadata `optim` lacks `{k}`")))
                };
                let mut opt = NetworkOptimizer::new(&network);
                opt.weights = take("weights")?.into();
                opt.positions = take("positions")?.into();
                for (id, s) in &mut opt.states {
                    let (stem, n) = (optim_name(id), [s.m.len()]);
                    s.m = read(&format!("{stem}.m"), &n)?;
                    s.v = read(&format!("{stem}.v"), &n)?;
                }
                Some(opt)
            }
        };
        if let Some(name) = network.first_non_finite() {
            return Err(err(format!(
                "tensor `{name}` holds NaN or infinite values: the run that wrote it diverged; \
                 use an earlier checkpoint"
            )));
        }
        let progress = match meta.get("progress") {
            None => None,
            Some(text) => Some(
                serde_json::from_str(text).map_err(|e| err(format!("metadata `progress`: {e}")))?,
            ),
        };
        let provenance = match meta.get("provenance") {
            None => None,
            Some(text) => Some(
                serde_json::from_str(text)
                    .map_err(|e| err(format!("metadata `provenance`: {e}")))?,
            ),
        };
        Ok(Checkpoint {
            config,
            network,
            optimizer,
            progress,
            provenance,
        })
    }
}

/// The metadata key of the checksum.
pub const CHECKSUM: &str = "checksum";

/// `sha256:HEX` of the metadata other than the checksum and of the tensors, both sorted.
fn checksum(meta: &HashMap<String, String>, mut tensors: Vec<(&str, &[usize], &[u8])>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut keys: Vec<&String> = meta.keys().filter(|k| *k != CHECKSUM).collect();
    keys.sort();
    for k in keys {
        for part in [k.as_bytes(), meta[k].as_bytes()] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
    }
    tensors.sort_by(|a, b| a.0.cmp(b.0));
    for (name, shape, data) in tensors {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((shape.len() as u64).to_le_bytes());
        for d in shape {
            h.update((*d as u64).to_le_bytes());
        }
        h.update((data.len() as u64).to_le_bytes());
        h.update(data);
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("metadata serialises to JSON")
}
