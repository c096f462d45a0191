//! [`Provenance`]: what made a run's numbers — the code (version, git commit), the build
//! (profile, SIMD level), the machine (threads, device), the data (its fingerprint), how
//! evaluation decided, and which convolution path computed each layer. It goes into
//! `summary.json`, every checkpoint and, per epoch, `metrics.jsonl` (threads and paths).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::kernels::simd;

/// How many training batches each convolution path computed, per delay layer (hidden layers,
/// then the readout), keyed by [`crate::model::ConvPlan::path_name`].
pub type ConvPathCounts = Vec<BTreeMap<String, usize>>;

/// The code, build, machine and data behind a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// spikedelay's version.
    pub version: String,
    /// The git commit the library was built from (`+dirty`: with uncommitted changes to tracked
    /// files); `None` when it was not built from a checkout.
    pub commit: Option<String>,
    /// The build profile: `release` or `debug`.
    pub build: String,
    /// The SIMD level the kernels ran at (docs/design.md §4): `avx512`, `avx2` or `portable`.
    pub simd: String,
    /// Worker threads.
    pub threads: usize,
    /// Where the training batches ran: `cpu`, `cuda:N` or `software` (docs/design.md §9).
    pub device: String,
    /// The device's name (the CPU's or the GPU's model).
    pub device_name: String,
    /// The data's fingerprint ([`crate::data::fingerprint`]).
    pub data: String,
    /// Which steps decided each sample at evaluation (`own` or `padded-batch`).
    pub eval_steps: String,
    /// Training batches per convolution path and delay layer, over every epoch of the run.
    pub conv_paths: ConvPathCounts,
}

/// The commit recorded by the build script.
pub const COMMIT: Option<&str> = option_env!("SPIKEDELAY_GIT_COMMIT");

/// The CPU's model name (Linux: `/proc/cpuinfo`), else the architecture; read once.
pub fn cpu_name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, name)| name.trim().to_string())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_string())
    })
}

impl Provenance {
    /// This process's code, build and machine, with the run's data fingerprint, evaluation
    /// rule and path counts.
    pub fn here(data: String, eval_steps: String, conv_paths: ConvPathCounts) -> Self {
        Provenance {
            version: env!("CARGO_PKG_VERSION").to_string(),
            commit: COMMIT.map(str::to_string),
            build: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_string(),
            simd: simd::level().name().to_string(),
            threads: rayon::current_num_threads(),
            device: "cpu".to_string(),
            device_name: cpu_name().to_string(),
            data,
            eval_steps,
            conv_paths,
        }
    }

    /// `0.1.0 (commit 1234abcd)`, or the version alone.
    pub fn code(&self) -> String {
        match &self.commit {
            Some(c) => format!("{} ({})", self.version, &c[..c.len().min(12)]),
            None => self.version.clone(),
        }
    }
}

/// Adds one batch's (or one shard's) convolution paths, one per delay layer, to `counts`.
pub fn count_paths(counts: &mut ConvPathCounts, paths: &[&str]) {
    if counts.len() < paths.len() {
        counts.resize(paths.len(), BTreeMap::new());
    }
    for (c, p) in counts.iter_mut().zip(paths) {
        *c.entry(p.to_string()).or_default() += 1;
    }
}

/// Adds `more` into `counts`.
pub fn add_counts(counts: &mut ConvPathCounts, more: &ConvPathCounts) {
    if counts.len() < more.len() {
        counts.resize(more.len(), BTreeMap::new());
    }
    for (c, m) in counts.iter_mut().zip(more) {
        for (k, v) in m {
            *c.entry(k.clone()).or_default() += v;
        }
    }
}

/// `fft ×40, narrow ×8` per layer, layers separated by ` | `.
pub fn describe_paths(counts: &ConvPathCounts) -> String {
    counts
        .iter()
        .map(|c| {
            c.iter()
                .map(|(k, v)| format!("{k} ×{v}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect::<Vec<_>>()
        .join(" | ")
}
