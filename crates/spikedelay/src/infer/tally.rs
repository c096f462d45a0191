//! `Tally`: what one pass over a split adds up, batch by batch: correct predictions out of the
//! samples seen (the accuracy, `correct / total`), the per-sample mean loss, the confusion
//! matrix, hidden spike rates, and the reference's figure (the mean of per-batch accuracies,
//! which over-weights a small last batch; method §12), kept only to compare with it.

use crate::model::LossOutput;

/// Running sums over the batches of one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    classes: usize,
    correct: usize,
    samples: usize,
    loss_sum: f64,
    batch_accuracy_sum: f64,
    batches: usize,
    /// `confusion[y · classes + ŷ]`: samples of class `y` predicted as `ŷ`.
    confusion: Vec<u64>,
    /// Per hidden layer: spikes and neuron-steps seen.
    spikes: Vec<(f64, f64)>,
}

impl Tally {
    /// An empty tally for `classes` classes and `hidden_layers` hidden layers.
    pub fn new(classes: usize, hidden_layers: usize) -> Self {
        Tally {
            classes,
            correct: 0,
            samples: 0,
            loss_sum: 0.0,
            batch_accuracy_sum: 0.0,
            batches: 0,
            confusion: vec![0; classes * classes],
            spikes: vec![(0.0, 0.0); hidden_layers],
        }
    }

    /// Adds one batch: its loss output against `labels`, and per hidden layer the spike density
    /// and the number of neuron-steps it was measured over.
    pub fn add(&mut self, out: &LossOutput, labels: &[usize], rates: &[(f64, usize)]) {
        let n = labels.len();
        let correct = out.correct(labels);
        self.correct += correct;
        self.samples += n;
        self.loss_sum += out.loss * n as f64;
        self.batch_accuracy_sum += correct as f64 / n.max(1) as f64;
        self.batches += 1;
        for (&y, &p) in labels.iter().zip(&out.predictions) {
            if y < self.classes && p < self.classes {
                self.confusion[y * self.classes + p] += 1;
            }
        }
        for (acc, &(density, cells)) in self.spikes.iter_mut().zip(rates) {
            acc.0 += density * cells as f64;
            acc.1 += cells as f64;
        }
    }

    /// Correct predictions.
    pub fn correct(&self) -> usize {
        self.correct
    }

    /// Samples seen.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Accuracy: correct / total (0 for an empty pass).
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.samples.max(1) as f64
    }

    /// Mean loss per sample (each batch's mean weighted by its size).
    pub fn loss(&self) -> f64 {
        self.loss_sum / self.samples.max(1) as f64
    }

    /// The reference's figure: the unweighted mean of per-batch accuracies.
    pub fn batch_mean_accuracy(&self) -> f64 {
        self.batch_accuracy_sum / self.batches.max(1) as f64
    }

    /// Spikes per neuron and step of each hidden layer, over every step evaluated.
    pub fn spike_rates(&self) -> Vec<f64> {
        self.spikes.iter().map(|&(s, n)| s / n.max(1.0)).collect()
    }

    /// The confusion matrix, one row per true class: `rows[y][ŷ]`.
    pub fn confusion(&self) -> Vec<Vec<u64>> {
        self.confusion
            .chunks(self.classes.max(1))
            .map(<[u64]>::to_vec)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(predictions: Vec<usize>, loss: f64) -> LossOutput {
        LossOutput {
            loss,
            predictions,
            grad: None,
            sample_losses: Vec::new(),
        }
    }

    #[test]
    fn accuracy_is_correct_over_total_not_the_mean_of_batches() {
        let mut t = Tally::new(3, 1);
        // A full batch of 4 with 2 correct, then a last batch of 1 that is correct.
        t.add(&output(vec![0, 1, 1, 1], 2.0), &[0, 1, 2, 2], &[(0.5, 40)]);
        t.add(&output(vec![2], 1.0), &[2], &[(0.0, 10)]);
        assert_eq!((t.correct(), t.samples()), (3, 5));
        assert_eq!(t.accuracy(), 0.6);
        assert_eq!(t.batch_mean_accuracy(), 0.75);
        assert_eq!(t.loss(), (2.0 * 4.0 + 1.0) / 5.0);
        assert_eq!(t.spike_rates(), vec![20.0 / 50.0]);
        assert_eq!(
            t.confusion(),
            vec![vec![1, 0, 0], vec![0, 1, 0], vec![0, 2, 1]]
        );
    }

    #[test]
    fn an_empty_pass_reports_zeros() {
        let t = Tally::new(2, 2);
        assert_eq!(
            (t.accuracy(), t.loss(), t.batch_mean_accuracy()),
            (0.0, 0.0, 0.0)
        );
        assert_eq!(t.spike_rates(), vec![0.0, 0.0]);
    }
}
