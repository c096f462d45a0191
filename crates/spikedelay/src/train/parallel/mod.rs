//! Data parallelism (docs/design.md §8): one run's batches split into `train.shards` fixed
//! shards, held by one or more processes ([`Collective`]: [`Solo`] here, MPI with the `mpi`
//! feature, threads standing for processes in [`ThreadGroup`]). The rules that make K
//! processes give one process's results bit for bit: shards are fixed by the configuration,
//! not by K; BatchNorm sums and everything recorded are gathered per sample and added in sample
//! order; parameter gradients are gathered per shard and added in shard order on every process,
//! which then all take the same optimiser step.

#[cfg(feature = "mpi")]
pub mod mpi;
mod thread_group;

use std::fmt::Debug;
use std::ops::Range;

pub use thread_group::ThreadGroup;

use crate::error::{Error, Result};
use crate::model::decision::mean_loss;
pub use crate::model::norm::SampleExchange;
use crate::model::{DclsGrads, ForwardCache, LossOutput};

/// The processes that share a run: rank, size and an all-gather (in rank order).
pub trait Collective: SampleExchange + Debug + Send + Sync {
    /// What it is, for messages (`one process`, `MPI, 2 processes`).
    fn describe(&self) -> String;
}

/// One process holds every shard.
#[derive(Debug, Clone, Copy, Default)]
pub struct Solo;

impl SampleExchange for Solo {
    fn gather(&self, local: Vec<f64>) -> Vec<f64> {
        local
    }
}

impl Collective for Solo {
    fn describe(&self) -> String {
        "one process".into()
    }
}

/// Checks that `shards` can be divided among `processes` and a batch of `batch_size`.
pub fn check_shards(shards: usize, batch_size: usize, processes: usize) -> Result<()> {
    if shards == 0 || shards > batch_size {
        return Err(Error::config(
            "train.shards",
            format!("must be between 1 and train.batch_size ({batch_size}), got {shards}"),
        ));
    }
    if !shards.is_multiple_of(processes) {
        return Err(Error::config(
            "train.shards",
            format!(
                "= {shards} cannot be divided among {processes} processes; set it (--shards) to \
                 a multiple of {processes}. One process with the same train.shards gives the \
                 same results bit for bit"
            ),
        ));
    }
    Ok(())
}

/// The samples of each of `shards` contiguous shards of a batch of `n` (sizes differing by at
/// most one).
pub fn shard_ranges(n: usize, shards: usize) -> Vec<Range<usize>> {
    (0..shards)
        .map(|s| s * n / shards..(s + 1) * n / shards)
        .collect()
}

/// The shards process `rank` of `size` holds.
pub fn owned_shards(shards: usize, rank: usize, size: usize) -> Range<usize> {
    rank * shards / size..(rank + 1) * shards / size
}

/// Every shard's delay-layer gradients (this process's `local`, gathered from all) added in
/// shard order: `g₀ + g₁ + …`, the same on every process and for any process count.
pub fn reduce_shard_grads(local: Vec<Vec<DclsGrads>>, c: &dyn SampleExchange) -> Vec<DclsGrads> {
    if c.size() == 1 && local.len() == 1 {
        return local.into_iter().next().expect("one shard");
    }
    let shape: Vec<(usize, usize)> = local
        .first()
        .map(|g| {
            g.iter()
                .map(|l| (l.weight.len(), l.position.len()))
                .collect()
        })
        .unwrap_or_default();
    let per: usize = shape.iter().map(|(w, p)| w + p).sum();
    let mut flat = Vec::with_capacity(per * local.len());
    for shard in &local {
        for l in shard {
            flat.extend(l.weight.iter().map(|&v| f64::from(v)));
            flat.extend(l.position.iter().map(|&v| f64::from(v)));
        }
    }
    let all = c.gather(flat);
    let mut total: Vec<f32> = all[..per].iter().map(|&v| v as f32).collect();
    for shard in all[per..].chunks_exact(per.max(1)) {
        for (t, &v) in total.iter_mut().zip(shard) {
            *t += v as f32;
        }
    }
    let mut at = 0;
    shape
        .iter()
        .map(|&(w, p)| {
            let g = DclsGrads {
                weight: total[at..at + w].to_vec(),
                position: total[at + w..at + w + p].to_vec(),
            };
            at += w + p;
            g
        })
        .collect()
}

/// The whole batch's loss output from this process's shards' (`outs`, their per-sample losses
/// and decisions gathered in sample order): the mean loss and the decisions, without gradient.
pub fn gather_outputs(outs: &[LossOutput], c: &dyn SampleExchange) -> LossOutput {
    let mut local = Vec::new();
    for o in outs {
        for (&l, &p) in o.sample_losses.iter().zip(&o.predictions) {
            local.extend([l, p as f64]);
        }
    }
    let all = c.gather(local);
    let sample_losses: Vec<f64> = all.iter().step_by(2).copied().collect();
    LossOutput {
        loss: mean_loss(&sample_losses),
        predictions: all.iter().skip(1).step_by(2).map(|&p| p as usize).collect(),
        grad: None,
        sample_losses,
    }
}

/// Per hidden layer: the whole batch's spike density (before dropout) and neuron-steps.
pub fn gather_spike_rates(caches: &[ForwardCache], c: &dyn SampleExchange) -> Vec<(f64, usize)> {
    let layers = caches.first().map_or(0, |k| k.blocks.len());
    let mut local = Vec::new();
    for k in caches {
        for b in &k.blocks {
            local.extend([b.spike_count as f64, b.membranes.data.len() as f64]);
        }
    }
    let all = c.gather(local);
    (0..layers)
        .map(|l| {
            let (mut fired, mut cells) = (0usize, 0usize);
            for shard in all.chunks_exact(2 * layers) {
                fired += shard[2 * l] as usize;
                cells += shard[2 * l + 1] as usize;
            }
            (fired as f64 / cells.max(1) as f64, cells)
        })
        .collect()
}

const PATHS: [&str; 5] = ["events", "gemm", "narrow", "low-rank", "fft"];

/// Every shard's convolution path per delay layer (hidden layers, then the readout), in shard
/// order.
pub fn gather_plans(caches: &[ForwardCache], c: &dyn SampleExchange) -> Vec<Vec<&'static str>> {
    let layers = caches.first().map_or(0, |k| k.conv_plans().len());
    let mut local = Vec::new();
    for k in caches {
        for p in k.conv_plans() {
            let i = PATHS.iter().position(|&n| n == p.path_name()).unwrap_or(0);
            local.push(i as f64);
        }
    }
    c.gather(local)
        .chunks_exact(layers.max(1))
        .map(|shard| shard.iter().map(|&i| PATHS[i as usize]).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_the_batch_and_divide_among_processes() {
        assert_eq!(shard_ranges(10, 4), vec![0..2, 2..5, 5..7, 7..10]);
        assert_eq!(owned_shards(4, 1, 2), 2..4);
        assert_eq!(owned_shards(4, 0, 1), 0..4);
        assert!(check_shards(4, 64, 2).is_ok());
        let e = check_shards(3, 64, 2).unwrap_err().to_string();
        assert!(
            e.contains("train.shards") && e.contains("multiple of 2"),
            "{e}"
        );
        assert!(check_shards(65, 64, 1).is_err());
    }
}
