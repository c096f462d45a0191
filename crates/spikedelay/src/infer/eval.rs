//! The paper's evaluation protocol (docs/method.md §15): the rounded network (integer delays)
//! run by the event-driven engine over a split in batches, samples in dataset order, and what
//! it adds up to ([`EvalResult`]: correct / total, the per-sample loss, the confusion matrix).
//!
//! Each sample runs over its own steps and is decided over them plus the tail, whatever else
//! is in its batch ([`SampleSteps::Own`]), so no figure depends on the batch size; the
//! reference's padded batches are [`SampleSteps::PaddedBatch`].

use serde::{Deserialize, Serialize};

use super::event::EventNetwork;
use super::tally::Tally;
use crate::data::{Dataset, make_batch};
use crate::error::Result;
use crate::model::decision::{sum_softmax_cross_entropy, sum_softmax_cross_entropy_within};
use crate::model::norm::{Alone, SampleExchange};
use crate::model::{LossOutput, Network};
use crate::seq::Seq;

/// Which steps run and decide a sample at evaluation (method §15).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum SampleSteps {
    /// Its own steps plus the tail, as if alone (a stream decides the same): results do not
    /// depend on the batch size.
    #[default]
    Own,
    /// Zero-padded to the longest sample of its batch, every padded step run and summed into
    /// the decision, as the reference evaluates: results move with the batch size (parity only).
    PaddedBatch,
}

impl std::fmt::Display for SampleSteps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SampleSteps::Own => "own",
            SampleSteps::PaddedBatch => "padded-batch",
        })
    }
}

/// Loss and accuracy of a model on a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalResult {
    /// Correctly classified samples.
    pub correct: usize,
    /// Samples evaluated.
    pub samples: usize,
    /// `correct / samples`.
    pub accuracy: f64,
    /// Mean loss per sample.
    pub loss: f64,
    /// The mean of per-batch accuracies, as the reference code prints it (it depends on the
    /// batch size; only for comparing with numbers printed by the reference).
    pub batch_mean_accuracy: f64,
    /// Spikes per neuron and step of each hidden layer.
    pub spike_rates: Vec<f64>,
    /// `confusion[y][ŷ]`: samples of class `y` predicted as `ŷ`.
    pub confusion: Vec<Vec<u64>>,
    /// The decision for each sample, in dataset order.
    pub decisions: Vec<usize>,
}

impl EvalResult {
    fn from_tally(t: &Tally, decisions: Vec<usize>) -> Self {
        EvalResult {
            correct: t.correct(),
            samples: t.samples(),
            accuracy: t.accuracy(),
            loss: t.loss(),
            batch_mean_accuracy: t.batch_mean_accuracy(),
            spike_rates: t.spike_rates(),
            confusion: t.confusion(),
            decisions,
        }
    }

    /// Accuracy of each class (`None` for a class without samples).
    pub fn per_class_accuracy(&self) -> Vec<Option<f64>> {
        self.confusion
            .iter()
            .enumerate()
            .map(|(y, row)| {
                let n: u64 = row.iter().sum();
                (n > 0).then(|| row[y] as f64 / n as f64)
            })
            .collect()
    }
}

/// Evaluates `net` with the paper's protocol (method §15): the rounded model (integer delays),
/// run by the event-driven engine, in batches of `batch_size`, samples in dataset order, each
/// over the steps `steps` says.
pub fn evaluate(
    net: &Network,
    data: &dyn Dataset,
    batch_size: usize,
    steps: SampleSteps,
) -> Result<EvalResult> {
    let engine = EventNetwork::from_network(net);
    evaluate_with(data, batch_size, net.blocks.len(), steps, |x, lengths| {
        engine.forward(x, lengths)
    })
}

/// Evaluates through `forward`, which runs a zero-padded batch `x` with each sample's own steps
/// (`lengths`) and returns the readout membranes and hidden spikes of `T + tail` steps (the
/// tail being whatever the engine adds). Sample `b` is decided over its first
/// `lengths[b] + tail` readout steps, and its spikes counted over as many; with
/// [`SampleSteps::PaddedBatch`] `lengths` are the batch's steps for every sample.
pub fn evaluate_with(
    data: &dyn Dataset,
    batch_size: usize,
    hidden_layers: usize,
    steps: SampleSteps,
    forward: impl Fn(&Seq, &[usize]) -> Result<(Seq, Vec<Seq>)>,
) -> Result<EvalResult> {
    evaluate_shared(data, batch_size, hidden_layers, steps, forward, &Alone)
}

/// [`evaluate_with`] shared among the processes of `exchange`: process `r` of `K` evaluates
/// its contiguous block of the batches; what each batch adds up to is gathered and added in
/// batch order, so every process gets the one-process result exactly.
pub fn evaluate_shared(
    data: &dyn Dataset,
    batch_size: usize,
    hidden_layers: usize,
    steps: SampleSteps,
    forward: impl Fn(&Seq, &[usize]) -> Result<(Seq, Vec<Seq>)>,
    exchange: &dyn SampleExchange,
) -> Result<EvalResult> {
    let idx: Vec<usize> = (0..data.len()).collect();
    let chunks: Vec<&[usize]> = idx.chunks(batch_size.max(1)).collect();
    let (rank, size) = (exchange.rank(), exchange.size());
    let mine = rank * chunks.len() / size..(rank + 1) * chunks.len() / size;
    // Per batch: the mean loss, each sample's decision, each hidden layer's (density, cells).
    let mut local = Vec::new();
    for chunk in &chunks[mine] {
        let mut batch = make_batch(data, chunk);
        if steps == SampleSteps::PaddedBatch {
            batch.lengths.iter_mut().for_each(|l| *l = batch.x.steps);
        }
        let (v, spikes) = forward(&batch.x, &batch.lengths)?;
        let within = |s: &Seq| -> Vec<usize> {
            let tail = s.steps.saturating_sub(batch.x.steps);
            batch
                .lengths
                .iter()
                .map(|&l| (l + tail).min(s.steps))
                .collect()
        };
        let out = match steps {
            SampleSteps::Own => sum_softmax_cross_entropy_within(&v, &batch.labels, &within(&v))?,
            SampleSteps::PaddedBatch => sum_softmax_cross_entropy(&v, &batch.labels, false)?,
        };
        local.push(out.loss);
        local.extend(out.predictions.iter().map(|&p| p as f64));
        for s in &spikes {
            let own = within(s);
            let fired: usize = (0..s.batch)
                .map(|b| {
                    let n = own[b] * s.channels;
                    s.sample(b)[..n].iter().filter(|&&x| x != 0.0).count()
                })
                .sum();
            let cells = own.iter().sum::<usize>() * s.channels;
            local.extend([fired as f64 / cells.max(1) as f64, cells as f64]);
        }
    }
    let all = exchange.gather(local);
    let mut tally = Tally::new(data.classes(), hidden_layers);
    let mut decisions = Vec::with_capacity(data.len());
    let mut at = 0;
    for chunk in &chunks {
        let n = chunk.len();
        let loss = all[at];
        let predictions: Vec<usize> = all[at + 1..at + 1 + n]
            .iter()
            .map(|&p| p as usize)
            .collect();
        at += 1 + n;
        let rates: Vec<(f64, usize)> = all[at..at + 2 * hidden_layers]
            .chunks_exact(2)
            .map(|r| (r[0], r[1] as usize))
            .collect();
        at += 2 * hidden_layers;
        let labels: Vec<usize> = chunk.iter().map(|&i| data.label(i)).collect();
        let out = LossOutput {
            loss,
            predictions,
            grad: None,
            sample_losses: Vec::new(),
        };
        tally.add(&out, &labels, &rates);
        decisions.extend_from_slice(&out.predictions);
    }
    Ok(EvalResult::from_tally(&tally, decisions))
}
