//! All progress display: a bar for data preparation, a bar per epoch with ETA (hidden when stderr is not a terminal) and one
//! line per epoch on stdout.

use indicatif::{ProgressBar, ProgressStyle};
use spikedelay::data::LoadProgress;
use spikedelay::train::{EpochMetrics, TrainObserver};

/// Draws data preparation (cache builds, feature extraction, downloads) as a bar on stderr.
#[derive(Default)]
pub struct DataProgress {
    bar: Option<ProgressBar>,
    stage: Option<(String, usize, std::time::Instant)>,
}

impl LoadProgress for DataProgress {
    fn start(&mut self, what: &str, total: usize) {
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30.cyan/blue}] {pos}/{len}  ETA {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        eprintln!("{what} …");
        self.bar = Some(bar);
        self.stage = Some((what.to_string(), total, std::time::Instant::now()));
    }

    fn advance(&mut self, n: usize) {
        if let Some(bar) = &self.bar {
            bar.inc(n as u64);
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if let Some((what, total, start)) = self.stage.take() {
            eprintln!(
                "{what}: {total} done in {:.2} s",
                start.elapsed().as_secs_f64()
            );
        }
    }

    fn note(&mut self, message: &str) {
        eprintln!("note: {message}");
    }
}

/// Draws training progress.
pub struct TrainProgress {
    bar: Option<ProgressBar>,
    epochs: usize,
}

impl TrainProgress {
    /// A progress display for a run of `epochs` epochs.
    pub fn new(epochs: usize) -> Self {
        TrainProgress { bar: None, epochs }
    }
}

fn fmt_rates(rates: &[f64]) -> String {
    rates
        .iter()
        .map(|r| format!("{r:.3}"))
        .collect::<Vec<_>>()
        .join("/")
}

impl TrainObserver for TrainProgress {
    fn epoch_started(&mut self, epoch: usize, epochs: usize, batches: usize) {
        let bar = ProgressBar::new(batches as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30.cyan/blue}] {pos}/{len} batches  loss {msg}  ETA {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("epoch {:>3}/{epochs}", epoch + 1));
        self.bar = Some(bar);
    }

    fn batch_finished(&mut self, loss: f64) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{loss:.4}"));
            bar.inc(1);
        }
    }

    fn evaluating(&mut self) {
        if let Some(bar) = &self.bar {
            bar.set_message("(evaluating)");
        }
    }

    fn epoch_finished(&mut self, m: &EpochMetrics) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        println!(
            "epoch {:>3}/{}  loss {:.4}  train {:5.1}%  valid {:5.1}%  test {:5.1}%  σ {:.3}  lr {:.2e}/{:.2e}  rate {}  {:.1}s",
            m.epoch,
            self.epochs,
            m.train_loss,
            100.0 * m.train_accuracy,
            100.0 * m.valid_accuracy,
            100.0 * m.test_accuracy,
            m.sigma,
            m.lr_weights,
            m.lr_positions,
            fmt_rates(&m.spike_rates),
            m.seconds
        );
    }
}
