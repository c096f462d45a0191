//! An epoch's training batches on an accelerator (docs/design.md §9): the same batches,
//! dropout masks (drawn on the host from the same stream, in the same order) and Adam constants
//! as the CPU path, the step itself on the device. The network is copied there at the first
//! epoch and kept; after the last batch of every epoch its parameters, running statistics and
//! Adam moments come back into the trainer, so evaluation, checkpoints and resumption are the
//! CPU path's. The loss is checked for NaN/Inf every batch, the parameters once per epoch.

use rand_chacha::ChaCha8Rng;

use super::trainer::{TrainObserver, Trainer};
use crate::data::{Splits, make_batch_padded};
use crate::error::{Error, Result};
use crate::infer::Tally;
use crate::model::SeqDropout;

impl Trainer {
    /// Trains `batches` of `epoch` on the accelerator.
    pub(super) fn device_batches(
        &mut self,
        epoch: usize,
        splits: &Splits,
        batches: &[&[usize]],
        dropout_rng: &mut ChaCha8Rng,
        tally: &mut Tally,
        observer: &mut dyn TrainObserver,
    ) -> Result<()> {
        let t = &self.config.train;
        if t.shards != 1 || self.collective.size() != 1 {
            return Err(Error::config(
                "train.shards",
                "must be 1 with one process when training on a GPU (data parallelism runs on \
                 the CPU path: choose device cpu)",
            ));
        }
        let weight_decay = t.weight_decay as f32;
        if self.on_device.is_none() {
            let acc = self
                .accelerator
                .as_ref()
                .expect("device_batches needs a device");
            let moments: Vec<(&[f32], &[f32])> = self
                .optimizer
                .states
                .iter()
                .map(|(_, s)| (s.m.as_slice(), s.v.as_slice()))
                .collect();
            self.on_device = Some(acc.network(&self.network, &moments)?);
        }
        let learn_positions = self.network.config.delays.learns_positions();
        let dropout = SeqDropout {
            p: self.network.config.dropout,
        };
        let hidden: Vec<usize> = self
            .network
            .blocks
            .iter()
            .map(|b| b.norm.channels())
            .collect();
        let dev = self.on_device.as_mut().expect("built above");
        dev.set_sig(self.network.sig());
        let mut last = 0;
        std::thread::scope(|scope| -> Result<()> {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            let train = splits.train.as_ref();
            scope.spawn(move || {
                for idx in batches {
                    let steps = idx.iter().map(|&i| train.steps(i)).max().unwrap_or(0);
                    if tx.send(make_batch_padded(train, idx, steps)).is_err() {
                        break;
                    }
                }
            });
            for (b, idx) in batches.iter().enumerate() {
                let batch = rx.recv().expect("the loader thread sends every batch");
                let masks: Vec<Vec<f32>> = hidden
                    .iter()
                    .map(|&h| dropout.mask(idx.len(), h, dropout_rng))
                    .collect();
                self.optimizer.weights.begin_step();
                if learn_positions {
                    self.optimizer.positions.begin_step();
                }
                let positions = learn_positions.then(|| self.optimizer.positions.constants());
                let report = dev.train_step(
                    &batch.x,
                    &batch.labels,
                    &masks,
                    self.optimizer.weights.constants(),
                    positions,
                    weight_decay,
                )?;
                if !report.loss.loss.is_finite() {
                    return Err(Error::NonFinite {
                        epoch: epoch + 1,
                        batch: b + 1,
                        what: format!("the loss ({})", report.loss.loss),
                    });
                }
                tally.add(&report.loss, &batch.labels, &report.spike_rates);
                crate::fault::point("batch");
                observer.batch_finished(report.loss.loss);
                last = b + 1;
                if observer.should_stop() {
                    return Err(Error::Interrupted {
                        epoch: epoch + 1,
                        batch: b + 1,
                    });
                }
            }
            Ok(())
        })?;
        dev.read_params(&mut self.network)?;
        for ((_, state), (m, v)) in self.optimizer.states.iter_mut().zip(dev.read_moments()?) {
            state.m = m;
            state.v = v;
        }
        if let Some(name) = self.network.first_non_finite() {
            return Err(Error::NonFinite {
                epoch: epoch + 1,
                batch: last,
                what: format!("parameter `{name}` after the epoch's updates"),
            });
        }
        Ok(())
    }
}
