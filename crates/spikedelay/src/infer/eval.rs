//! The paper's evaluation protocol (docs/method.md §15): the rounded network (integer delays)
//! run by the event-driven engine over a split in batches, samples in dataset order, and what
//! it adds up to ([`EvalResult`]: correct / total, the per-sample loss, the confusion matrix).

use super::event::EventNetwork;
use super::tally::Tally;
use crate::data::{Dataset, make_batch};
use crate::error::Result;
use crate::model::{Network, sum_softmax_cross_entropy};
use crate::seq::Seq;

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
}

impl EvalResult {
    fn from_tally(t: &Tally) -> Self {
        EvalResult {
            correct: t.correct(),
            samples: t.samples(),
            accuracy: t.accuracy(),
            loss: t.loss(),
            batch_mean_accuracy: t.batch_mean_accuracy(),
            spike_rates: t.spike_rates(),
            confusion: t.confusion(),
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
/// run by the event-driven engine, in batches of `batch_size`, samples in dataset order.
pub fn evaluate(net: &Network, data: &dyn Dataset, batch_size: usize) -> Result<EvalResult> {
    let engine = EventNetwork::from_network(net);
    evaluate_with(data, batch_size, net.blocks.len(), |x| engine.forward(x))
}

/// Evaluates through `forward` (readout membranes and hidden spikes of a batch).
pub fn evaluate_with(
    data: &dyn Dataset,
    batch_size: usize,
    hidden_layers: usize,
    forward: impl Fn(&Seq) -> Result<(Seq, Vec<Seq>)>,
) -> Result<EvalResult> {
    let idx: Vec<usize> = (0..data.len()).collect();
    let mut tally = Tally::new(data.classes(), hidden_layers);
    for chunk in idx.chunks(batch_size.max(1)) {
        let batch = make_batch(data, chunk);
        let (v, spikes) = forward(&batch.x)?;
        let out = sum_softmax_cross_entropy(&v, &batch.labels, false)?;
        let rates: Vec<(f64, usize)> = spikes.iter().map(|s| (s.density(), s.data.len())).collect();
        tally.add(&out, &batch.labels, &rates);
    }
    Ok(EvalResult::from_tally(&tally))
}
