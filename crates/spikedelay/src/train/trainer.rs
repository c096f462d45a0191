//! `Trainer`: the epoch loop of method §14.4 with the paper's schedules, evaluation of the rounded
//! model (§15), selection on the validation split, checkpoints and resumption.
//!
//! Per batch: forward (Gaussian kernels, BatchNorm batch statistics, dropout), loss, backward,
//! optimiser 1 then 2, position clamp. Per epoch: schedules and σ are set before the first batch;
//! after the last one the rounded model is evaluated on the validation and test splits.
//!
//! Randomness comes from streams derived from the training seed, the purpose and the epoch, so a
//! resumed run continues exactly as an uninterrupted one would.
//!
//! An epoch's files are one transaction whose commit is `last.safetensors`: `metrics.jsonl`
//! (all epochs so far) is written first, then `best.safetensors` when the epoch improved, then
//! `last.safetensors`, each atomically. A process killed at any moment leaves a folder that
//! resumes from its last committed epoch: records past it are dropped on resume, and a `best`
//! written ahead of its commit is written again, identically, when the epoch is redone.
//!
//! Every batch checks the loss and every parameter for NaN/Inf and stops the run with
//! [`Error::NonFinite`] before anything of that epoch is saved.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::checkpoint::{Checkpoint, Progress};
use super::layout::files;
use super::metrics::{EpochMetrics, Summary, read_metrics, write_metrics, write_summary};
use super::optim::NetworkOptimizer;
use super::parallel::{
    Collective, SampleExchange, Solo, check_shards, gather_outputs, gather_plans,
    gather_spike_rates, owned_shards, reduce_shard_grads, shard_ranges,
};
use super::provenance::{ConvPathCounts, Provenance, add_counts, count_paths};
use super::run_dir::{Existing, RunDir};
use super::schedule::{CosineAnnealing, OneCycle, SigmaSchedule};
use crate::config::RunConfig;
use crate::data::fingerprint::fingerprint;
use crate::data::{Splits, make_batch_padded};
use crate::device::{Accelerator, Device, DeviceNetwork};
use crate::error::{Error, Result};
use crate::infer::{EventNetwork, SampleSteps, Tally, evaluate_shared};
use crate::model::decision::sum_softmax_cross_entropy_shard;
use crate::model::network::SIG_FINAL;
use crate::model::{DelayMode, Network, NetworkGrads, Sig};

/// Receives progress reports (the CLI draws its progress bar from these).
pub trait TrainObserver {
    /// An epoch with `batches` batches begins.
    fn epoch_started(&mut self, _epoch: usize, _epochs: usize, _batches: usize) {}
    /// A training batch finished with this loss.
    fn batch_finished(&mut self, _loss: f64) {}
    /// Asked after every batch: `true` stops the run with [`Error::Interrupted`], leaving the
    /// last finished epoch's checkpoint as it was (a Python `KeyboardInterrupt`, say).
    fn should_stop(&mut self) -> bool {
        false
    }
    /// Training batches are done; evaluation begins.
    fn evaluating(&mut self) {}
    /// An epoch finished.
    fn epoch_finished(&mut self, _metrics: &EpochMetrics) {}
}

/// An observer that ignores everything.
impl TrainObserver for () {}

/// A random stream for `purpose` in `epoch`, derived from the training seed.
fn stream(seed: u64, purpose: u64, epoch: u64) -> ChaCha8Rng {
    let mix = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ purpose.wrapping_mul(0xbf58_476d_1ce4_e5b9)
        ^ epoch.wrapping_mul(0x94d0_49bb_1331_11eb);
    ChaCha8Rng::seed_from_u64(mix)
}

const PURPOSE_INIT: u64 = 1;
const PURPOSE_SHUFFLE: u64 = 2;
const PURPOSE_DROPOUT: u64 = 3;

/// A training run: configuration, network, optimisers, records.
pub struct Trainer {
    pub(super) config: RunConfig,
    pub(super) network: Network,
    pub(super) optimizer: NetworkOptimizer,
    history: Vec<EpochMetrics>,
    progress: Progress,
    out: Option<RunDir>,
    /// The fingerprint of the data this session trains on (known once `run` has seen it).
    data_fingerprint: Option<String>,
    /// The processes sharing each batch ([`Solo`]: this one alone).
    pub(super) collective: Arc<dyn Collective>,
    /// Where the training batches run (`None`: the CPU path).
    pub(super) accelerator: Option<Accelerator>,
    /// The network on the accelerator, built at the first epoch there and kept between
    /// epochs; `self.network` and the optimiser are brought up to date after each epoch.
    pub(super) on_device: Option<DeviceNetwork>,
}

impl Trainer {
    /// A fresh run for `config` on data with `inputs` channels and `classes` classes.
    pub fn new(config: RunConfig, inputs: usize, classes: usize) -> Result<Self> {
        config.validate()?;
        let net_config = config.network_config(inputs, classes);
        net_config
            .memory_estimate(config.train.batch_size, None)
            .check("the network")?;
        let mut rng = stream(config.train.seed, PURPOSE_INIT, 0);
        let mut network = Network::new(&net_config, &mut rng)?;
        network.conv_path = config.model.conv_path;
        let optimizer = NetworkOptimizer::new(&network);
        let progress = Progress {
            epochs_done: 0,
            best_epoch: 0,
            best_valid_accuracy: -1.0,
            best_test_accuracy: 0.0,
            wall_seconds: 0.0,
        };
        Ok(Trainer {
            config,
            network,
            optimizer,
            history: Vec::new(),
            progress,
            out: None,
            data_fingerprint: None,
            collective: Arc::new(Solo),
            accelerator: None,
            on_device: None,
        })
    }

    /// Shares every batch with the processes of `collective` (data parallelism,
    /// `train.shards` divided among them). Only the first process should write a run folder.
    pub fn with_collective(mut self, collective: Arc<dyn Collective>) -> Result<Self> {
        let t = &self.config.train;
        check_shards(t.shards, t.batch_size, collective.size())?;
        self.collective = collective;
        Ok(self)
    }

    /// Runs the training batches on `device` (docs/design.md §9): `cpu` keeps the CPU path,
    /// `auto` takes a CUDA GPU when there is one. Evaluation and checkpoints are the same
    /// either way (checkpoints do not depend on the device).
    pub fn with_device(mut self, device: Device) -> Result<Self> {
        self.accelerator = device.open()?;
        self.on_device = None;
        Ok(self)
    }

    /// The device the training batches run on, and its name.
    pub fn device(&self) -> (String, String) {
        match &self.accelerator {
            Some(a) => (a.device.clone(), a.name()),
            None => ("cpu".into(), super::provenance::cpu_name().into()),
        }
    }

    /// Continues the run saved in `out` (its `last.safetensors` and `metrics.jsonl`), locking
    /// the folder.
    pub fn resume(out: &Path) -> Result<Self> {
        Self::resume_from(out, true)
    }

    /// Continues the run saved in `out` without writing to it or locking it (a data-parallel
    /// process other than the first, which writes).
    pub fn resume_reading(out: &Path) -> Result<Self> {
        Self::resume_from(out, false)
    }

    fn resume_from(out: &Path, write: bool) -> Result<Self> {
        let path = out.join(files::LAST);
        if !out.is_dir() {
            return Err(Error::NothingToResume {
                path: out.into(),
                reason: "the folder does not exist".into(),
            });
        }
        let dir = write
            .then(|| RunDir::open(out, Existing::Resume))
            .transpose()?;
        if !path.exists() {
            return Err(Error::NothingToResume {
                path: out.into(),
                reason: "no epoch of a run in this folder has finished (there is no \
                         last.safetensors)"
                    .into(),
            });
        }
        let ck = Checkpoint::load(&path)?;
        let optimizer = ck.optimizer.ok_or_else(|| {
            Error::checkpoint(&path, "holds no optimiser state, so it cannot be resumed")
        })?;
        let progress = ck.progress.ok_or_else(|| {
            Error::checkpoint(&path, "holds no training progress, so it cannot be resumed")
        })?;
        let mut history = read_metrics(&out.join(files::METRICS))?;
        if history.len() < progress.epochs_done {
            return Err(Error::checkpoint(
                &path,
                format!(
                    "says {} epochs are done but metrics.jsonl holds {}",
                    progress.epochs_done,
                    history.len()
                ),
            ));
        }
        history.truncate(progress.epochs_done);
        Ok(Trainer {
            config: ck.config,
            network: ck.network,
            optimizer,
            history,
            progress,
            out: dir,
            data_fingerprint: None,
            collective: Arc::new(Solo),
            accelerator: None,
            on_device: None,
        })
    }

    /// Writes checkpoints and records into `out` (created if missing, locked while the trainer
    /// lives); a run already there is refused or replaced as `existing` says.
    pub fn with_output(mut self, out: &Path, existing: Existing) -> Result<Self> {
        let dir = RunDir::open(out, existing)?;
        crate::atomic_file::write_atomic(
            &out.join(files::CONFIG),
            self.config.to_toml().as_bytes(),
        )?;
        self.out = Some(dir);
        Ok(self)
    }

    /// Reads the run's data from `dir` from now on (the data has moved); the stored
    /// configuration is rewritten so that later epochs' checkpoints record it.
    pub fn relocate_data(&mut self, dir: std::path::PathBuf) -> Result<()> {
        self.config.data.source_mut().set_dir(dir)?;
        if let Some(out) = &self.out {
            crate::atomic_file::write_atomic(
                &out.path().join(files::CONFIG),
                self.config.to_toml().as_bytes(),
            )?;
        }
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// The network (unrounded).
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Epoch records so far.
    pub fn history(&self) -> &[EpochMetrics] {
        &self.history
    }

    /// Trains the remaining epochs and returns the summary.
    pub fn run(&mut self, splits: &Splits, observer: &mut dyn TrainObserver) -> Result<Summary> {
        let epochs = self.config.train.epochs;
        let steps = (0..splits.train.len())
            .map(|i| splits.train.steps(i))
            .max()
            .unwrap_or(0);
        self.network
            .config
            .memory_estimate(self.config.train.batch_size, Some(steps))
            .check("training")?;
        self.data_fingerprint = Some(fingerprint(splits));
        for epoch in self.progress.epochs_done..epochs {
            let m = self.train_epoch(epoch, splits, observer)?;
            observer.epoch_finished(&m);
        }
        let summary = self.summary();
        if let Some(out) = &self.out {
            write_summary(&out.path().join(files::SUMMARY), &summary)?;
        }
        Ok(summary)
    }

    fn sigma_schedule(&self) -> SigmaSchedule {
        match self.config.model.delays {
            DelayMode::Learned => {
                SigmaSchedule::new(self.network.config.sig_init, self.config.train.epochs)
            }
            DelayMode::ConstantSigma => SigmaSchedule::constant(SIG_FINAL),
            DelayMode::Fixed | DelayMode::None => SigmaSchedule::constant(Sig::ZERO),
        }
    }

    /// Trains epoch `epoch`, evaluates, saves; returns its record.
    pub fn train_epoch(
        &mut self,
        epoch: usize,
        splits: &Splits,
        observer: &mut dyn TrainObserver,
    ) -> Result<EpochMetrics> {
        let start = Instant::now();
        let t = &self.config.train;
        let (lr_w, beta1) = OneCycle::new(t.max_lr, t.epochs).at(epoch);
        let lr_p = CosineAnnealing {
            base_lr: t.lr_positions,
            t_max: t.epochs,
        }
        .at(epoch);
        let learn_positions = self.config.model.delays.learns_positions();
        self.optimizer.weights.lr = lr_w;
        self.optimizer.weights.beta1 = beta1;
        self.optimizer.positions.lr = lr_p;
        let sig = self.sigma_schedule().sig(epoch);
        self.network.set_sig(sig);
        let (batch_size, seed) = (t.batch_size, t.seed);

        let mut order: Vec<usize> = (0..splits.train.len()).collect();
        order.shuffle(&mut stream(seed, PURPOSE_SHUFFLE, epoch as u64));
        let mut dropout_rng = stream(seed, PURPOSE_DROPOUT, epoch as u64);
        let batches: Vec<&[usize]> = order.chunks(batch_size).collect();
        observer.epoch_started(epoch, self.config.train.epochs, batches.len());
        let mut tally = Tally::new(splits.train.classes(), self.network.blocks.len());
        let mut conv_paths = ConvPathCounts::new();
        if self.accelerator.is_some() {
            self.device_batches(
                epoch,
                splits,
                &batches,
                &mut dropout_rng,
                &mut tally,
                observer,
            )?;
            let layers = self.network.blocks.len() + 1;
            for _ in &batches {
                count_paths(&mut conv_paths, &vec!["device"; layers]);
            }
        } else {
            self.cpu_batches(
                epoch,
                splits,
                &batches,
                &mut dropout_rng,
                &mut tally,
                &mut conv_paths,
                observer,
            )?;
        }
        observer.evaluating();
        crate::fault::point("evaluating");
        let hidden = self.network.blocks.len();
        let eval_steps = self.config.train.eval_steps;
        // The rounded model on the device when training ran there, else the event engine.
        let engine = match &self.on_device {
            Some(_) => None,
            None => Some(EventNetwork::from_network(&self.network)),
        };
        let on_device = self.on_device.as_ref();
        let forward = |x: &crate::seq::Seq, lengths: &[usize]| match (&engine, on_device) {
            (Some(e), _) => e.forward(x, lengths),
            (None, Some(d)) => d.forward_eval(x),
            (None, None) => unreachable!("one engine is there"),
        };
        // Each process evaluates its block of the batches (all of them, alone).
        let exchange: &dyn SampleExchange = self.collective.as_ref();
        let valid = evaluate_shared(
            splits.valid.as_ref(),
            batch_size,
            hidden,
            eval_steps,
            forward,
            exchange,
        )?;
        let test = if splits.valid_is_test {
            valid.clone()
        } else {
            evaluate_shared(
                splits.test.as_ref(),
                batch_size,
                hidden,
                eval_steps,
                forward,
                exchange,
            )?
        };
        let sigma = match self.network.output.kind {
            crate::model::KernelKind::Gauss => sig.gauss_width() as f64,
            _ => 0.0,
        };
        let metrics = EpochMetrics {
            epoch: epoch + 1,
            train_loss: tally.loss(),
            train_accuracy: tally.accuracy(),
            train_accuracy_batch_mean: tally.batch_mean_accuracy(),
            valid_loss: valid.loss,
            valid_accuracy: valid.accuracy,
            valid_correct: valid.correct,
            valid_samples: valid.samples,
            valid_accuracy_batch_mean: valid.batch_mean_accuracy,
            test_loss: test.loss,
            test_accuracy: test.accuracy,
            test_correct: test.correct,
            test_samples: test.samples,
            test_accuracy_batch_mean: test.batch_mean_accuracy,
            sigma,
            lr_weights: lr_w,
            lr_positions: if learn_positions { lr_p } else { 0.0 },
            beta1,
            spike_rates: tally.spike_rates(),
            seconds: start.elapsed().as_secs_f64(),
            threads: rayon::current_num_threads(),
            conv_paths,
        };
        let improved = valid.accuracy > self.progress.best_valid_accuracy;
        if improved {
            self.progress.best_epoch = epoch;
            self.progress.best_valid_accuracy = valid.accuracy;
            self.progress.best_test_accuracy = test.accuracy;
        }
        self.progress.epochs_done = epoch + 1;
        self.progress.wall_seconds += metrics.seconds;
        self.history.push(metrics.clone());
        crate::fault::point("epoch-evaluated");
        if let Some(out) = &self.out {
            let out = out.path();
            write_metrics(&out.join(files::METRICS), &self.history)?;
            if improved {
                self.checkpoint(false).save(&out.join(files::BEST))?;
            }
            self.checkpoint(true).save(&out.join(files::LAST))?;
        }
        Ok(metrics)
    }

    /// The training batches of `epoch` on the CPU, sharded as `train.shards` says.
    #[allow(clippy::too_many_arguments)]
    fn cpu_batches(
        &mut self,
        epoch: usize,
        splits: &Splits,
        batches: &[&[usize]],
        dropout_rng: &mut ChaCha8Rng,
        tally: &mut Tally,
        conv_paths: &mut ConvPathCounts,
        observer: &mut dyn TrainObserver,
    ) -> Result<()> {
        let t = &self.config.train;
        let (shards, weight_decay) = (t.shards, t.weight_decay as f32);
        let collective = self.collective.clone();
        let exchange: &dyn SampleExchange = collective.as_ref();
        let (rank, size) = (collective.rank(), collective.size());
        let mine = owned_shards(shards, rank, size);
        // Batches (this process's shards of each) are assembled one ahead on a loader thread
        // while the current one trains; every shard is padded to its batch's longest sample.
        std::thread::scope(|scope| -> Result<()> {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            let (train, order, mine) = (splits.train.as_ref(), batches, mine.clone());
            scope.spawn(move || {
                for idx in order {
                    let steps = idx.iter().map(|&i| train.steps(i)).max().unwrap_or(0);
                    let ranges = shard_ranges(idx.len(), shards)[mine.clone()].to_vec();
                    let parts: Vec<_> = ranges
                        .iter()
                        .map(|r| make_batch_padded(train, &idx[r.clone()], steps))
                        .collect();
                    if tx.send((parts, ranges)).is_err() {
                        break;
                    }
                }
            });
            for (b, idx) in batches.iter().enumerate() {
                let (parts, ranges) = rx.recv().expect("the loader thread sends every batch");
                let labels: Vec<usize> = idx.iter().map(|&i| splits.train.label(i)).collect();
                let shard_labels: Vec<Vec<usize>> =
                    parts.iter().map(|p| p.labels.clone()).collect();
                let xs = parts.into_iter().map(|p| p.x).collect();
                let dropout = &mut *dropout_rng;
                let p_drop = self.network.config.dropout;
                let (vs, caches): (Vec<_>, Vec<_>) = self
                    .network
                    .forward_train_shards(
                        xs,
                        &ranges,
                        idx.len(),
                        &mut |_, n, c| crate::model::SeqDropout { p: p_drop }.mask(n, c, dropout),
                        exchange,
                    )?
                    .into_iter()
                    .unzip();
                let outs = vs
                    .iter()
                    .zip(&shard_labels)
                    .map(|(v, y)| sum_softmax_cross_entropy_shard(v, y, idx.len()))
                    .collect::<Result<Vec<_>>>()?;
                let out = gather_outputs(&outs, exchange);
                let diverged = |what: String| Error::NonFinite {
                    epoch: epoch + 1,
                    batch: b + 1,
                    what,
                };
                if !out.loss.is_finite() {
                    return Err(diverged(format!("the loss ({})", out.loss)));
                }
                let g_vs: Vec<_> = outs
                    .into_iter()
                    .map(|o| o.grad.expect("gradient requested"))
                    .collect();
                let (layers, norms, _) = self
                    .network
                    .backward_shards(&caches, &g_vs, false, exchange);
                let grads = NetworkGrads {
                    layers: reduce_shard_grads(layers, exchange),
                    norms,
                };
                self.optimizer.step(&mut self.network, &grads, weight_decay);
                if crate::fault::poison_batch() {
                    self.network.output.weight[0] = f32::NAN;
                }
                if let Some(name) = self.network.first_non_finite() {
                    return Err(diverged(format!("parameter `{name}` after the update")));
                }
                tally.add(&out, &labels, &gather_spike_rates(&caches, exchange));
                for plans in gather_plans(&caches, exchange) {
                    count_paths(conv_paths, &plans);
                }
                crate::fault::point("batch");
                observer.batch_finished(out.loss);
                if observer.should_stop() {
                    return Err(Error::Interrupted {
                        epoch: epoch + 1,
                        batch: b + 1,
                    });
                }
            }
            Ok(())
        })?;
        Ok(())
    }

    /// A checkpoint of the current state; with `resumable`, optimiser state and progress too.
    pub fn checkpoint(&self, resumable: bool) -> Checkpoint {
        Checkpoint {
            config: self.config.clone(),
            network: self.network.clone(),
            optimizer: resumable.then(|| self.optimizer.clone()),
            progress: Some(self.progress.clone()),
            provenance: self.provenance(),
        }
    }

    /// What made the run so far: this process's code, build and machine, the data (once a
    /// session has seen it) and every epoch's convolution paths.
    pub fn provenance(&self) -> Option<Provenance> {
        let data = self.data_fingerprint.clone()?;
        let mut paths = ConvPathCounts::new();
        for m in &self.history {
            add_counts(&mut paths, &m.conv_paths);
        }
        let mut here = Provenance::here(data, self.config.train.eval_steps.to_string(), paths);
        (here.device, here.device_name) = self.device();
        Some(here)
    }

    /// The summary of the epochs run so far.
    pub fn summary(&self) -> Summary {
        let selected = self.history.get(self.progress.best_epoch);
        let done = self.progress.epochs_done;
        Summary {
            dataset: self.config.data.name(),
            delays: self.config.model.delays.to_string(),
            seed: self.config.train.seed,
            epochs: self.progress.epochs_done,
            test_accuracy: self.progress.best_test_accuracy,
            test_correct: selected.map_or(0, |m| m.test_correct),
            test_samples: selected.map_or(0, |m| m.test_samples),
            last_epoch_test_accuracy: self.history.last().map_or(0.0, |m| m.test_accuracy),
            best_epoch: if done > 0 {
                self.progress.best_epoch + 1
            } else {
                0
            },
            best_valid_accuracy: self.progress.best_valid_accuracy.max(0.0),
            valid_correct: selected.map_or(0, |m| m.valid_correct),
            valid_samples: selected.map_or(0, |m| m.valid_samples),
            selection: self.config.data.selection(),
            input: self
                .config
                .data
                .input_description(self.config.model.time_step_ms),
            evaluation: match self.config.train.eval_steps {
                SampleSteps::Own => {
                    "accuracy = correct / total of the rounded model (integer delays: positions \
                     rounded half-to-even, SIG = 0, triangle kernel), each sample run and decided \
                     over its own steps plus the tail (independent of the batch size)"
                }
                SampleSteps::PaddedBatch => {
                    "accuracy = correct / total of the rounded model (integer delays: positions \
                     rounded half-to-even, SIG = 0, triangle kernel), samples padded to their \
                     batch's longest as the reference evaluates (depends on the batch size)"
                }
            }
            .into(),
            wall_seconds: self.progress.wall_seconds,
            parameters: self.network.parameter_count(),
            provenance: self.provenance(),
        }
    }
}
