//! One training batch held as shards (data parallelism, docs/design.md §8): this process's
//! contiguous shards of the batch run forward and backward separately, each with its own
//! convolution plans, while BatchNorm's statistics and its backward means come from the whole
//! batch through a [`SampleExchange`]. Dropout masks are drawn for the whole batch and sliced.
//! Per-shard parameter gradients come back separately, for the caller to add in shard order;
//! so one process with S shards computes exactly what K processes holding S/K shards each do.
//! [`Network::forward_train`] and [`Network::backward`] are the one-shard case.

use std::ops::Range;

use super::dcls::{DclsGrads, GradsWanted};
use super::dropout::SeqDropout;
use super::lif::Charge;
use super::network::{BlockCache, ForwardCache, Network};
use super::norm::{NormGrads, SampleExchange};
use crate::error::Result;
use crate::seq::Seq;

impl Network {
    /// Training forward pass of this process's shards `xs` of a batch of `batch` samples
    /// (`ranges[k]`: shard `k`'s samples in the batch; all shards padded to the same steps).
    /// `mask_for(layer, batch, channels)` draws a layer's dropout mask for the whole batch.
    /// Returns each shard's readout membranes and cache.
    pub fn forward_train_shards(
        &mut self,
        xs: Vec<Seq>,
        ranges: &[Range<usize>],
        batch: usize,
        mask_for: &mut dyn FnMut(usize, usize, usize) -> Vec<f32>,
        exchange: &dyn SampleExchange,
    ) -> Result<Vec<(Seq, ForwardCache)>> {
        for x in &xs {
            self.check_input(x)?;
        }
        let lif = self.neuron();
        let path = self.conv_path;
        let mut blocks: Vec<Vec<BlockCache>> = xs.iter().map(|_| Vec::new()).collect();
        let mut curs = xs;
        for (l, block) in self.blocks.iter_mut().enumerate() {
            let mut acts = Vec::with_capacity(curs.len());
            let mut convs = Vec::with_capacity(curs.len());
            for cur in curs {
                let (a, conv) = block.conv.forward_train(cur, path)?;
                acts.push(a);
                convs.push(conv);
            }
            let normed = block
                .norm
                .forward_train_shards(&acts.iter().collect::<Vec<_>>(), exchange)?;
            drop(acts);
            let c = block.norm.channels();
            let mask = mask_for(l, batch, c);
            curs = Vec::with_capacity(normed.len());
            for (k, ((z, norm), conv)) in normed.into_iter().zip(convs).enumerate() {
                let (mut s, membranes) = lif.forward(&z, Charge::Train);
                let spike_rate = s.density();
                let spike_count = s.data.iter().filter(|&&v| v != 0.0).count();
                let shard_mask = mask[ranges[k].start * c..ranges[k].end * c].to_vec();
                SeqDropout::apply(&mut s, &shard_mask);
                curs.push(s);
                blocks[k].push(BlockCache {
                    conv,
                    norm,
                    membranes,
                    mask: shard_mask,
                    spike_rate,
                    spike_count,
                });
            }
        }
        let readout = self.readout();
        let mut out = Vec::with_capacity(curs.len());
        for (cur, blocks) in curs.into_iter().zip(blocks) {
            let (a, output) = self.output.forward_train(cur, path)?;
            out.push((
                readout.forward(&a, Charge::Train),
                ForwardCache { blocks, output },
            ));
        }
        Ok(out)
    }

    /// Backward pass of [`Self::forward_train_shards`] from each shard's `∂L/∂V` (of the whole
    /// batch's loss). Returns each shard's delay-layer gradients (hidden layers then the
    /// output, each starting from zero), the whole batch's BatchNorm gradients, and with
    /// `want_input` each shard's `∂L/∂x`.
    #[allow(clippy::type_complexity)]
    pub fn backward_shards(
        &self,
        caches: &[ForwardCache],
        g_vs: &[Seq],
        want_input: bool,
        exchange: &dyn SampleExchange,
    ) -> (Vec<Vec<DclsGrads>>, Vec<NormGrads>, Option<Vec<Seq>>) {
        let positions = self.config.delays.learns_positions();
        let lif = self.neuron();
        let l_count = self.blocks.len();
        let mut layers: Vec<Vec<DclsGrads>> = caches
            .iter()
            .map(|_| self.layers().map(DclsGrads::zeros).collect())
            .collect();
        let mut norms: Vec<NormGrads> = self
            .blocks
            .iter()
            .map(|b| NormGrads::zeros(b.norm.channels()))
            .collect();
        let readout = self.readout();
        let wanted = GradsWanted {
            positions,
            input: true,
        };
        let mut g_xs: Vec<Option<Seq>> = caches
            .iter()
            .zip(g_vs)
            .zip(layers.iter_mut())
            .map(|((cache, g_v), grads)| {
                let g_a = readout.backward(g_v);
                self.output
                    .backward(&g_a, &cache.output, &mut grads[l_count], wanted)
            })
            .collect();
        for l in (0..l_count).rev() {
            let block = &self.blocks[l];
            let g_zs: Vec<Seq> = g_xs
                .iter_mut()
                .zip(caches)
                .map(|(g_x, cache)| {
                    let kept = &cache.blocks[l];
                    let mut g_s = g_x.take().expect("input gradient requested");
                    SeqDropout::apply(&mut g_s, &kept.mask);
                    lif.backward(&g_s, &kept.membranes)
                })
                .collect();
            let kept_norms: Vec<_> = caches.iter().map(|c| &c.blocks[l].norm).collect();
            let g_as = block.norm.backward_shards(
                &g_zs.iter().collect::<Vec<_>>(),
                &kept_norms,
                &mut norms[l],
                exchange,
            );
            drop(g_zs);
            let wanted = GradsWanted {
                positions,
                input: l > 0 || want_input,
            };
            for ((g_a, cache), (g_x, grads)) in g_as
                .iter()
                .zip(caches)
                .zip(g_xs.iter_mut().zip(layers.iter_mut()))
            {
                *g_x = block
                    .conv
                    .backward(g_a, &cache.blocks[l].conv, &mut grads[l], wanted);
            }
        }
        let g_x = want_input.then(|| {
            g_xs.into_iter()
                .map(|g| g.expect("input gradient requested"))
                .collect()
        });
        (layers, norms, g_x)
    }
}
