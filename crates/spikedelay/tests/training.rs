//! Training behaviour on small `delay-patterns` tasks.

use spikedelay::config::RunConfig;
use spikedelay::data::{DataConfig, Dataset, DelayPatternsConfig, Splits};
use spikedelay::infer::{SampleSteps, evaluate};
use spikedelay::model::DelayMode;
use spikedelay::train::{EpochMetrics, Trainer};

/// A CI-sized task and network.
pub fn small_config(delays: DelayMode, epochs: usize) -> RunConfig {
    let mut c = RunConfig {
        data: DataConfig::DelayPatterns(DelayPatternsConfig {
            classes: 6,
            channels: 12,
            motif_channels: 6,
            steps: 40,
            train_samples: 960,
            valid_samples: 240,
            test_samples: 240,
            ..DelayPatternsConfig::default()
        }),
        ..RunConfig::default()
    };
    c.model.hidden = vec![32, 32];
    c.model.delays = delays;
    c.train.epochs = epochs;
    c.train.batch_size = 32;
    c
}

/// The splits `config` names.
pub fn splits_of(config: &RunConfig) -> Splits {
    config
        .data
        .load(config.model.time_step_ms, &mut ())
        .unwrap()
}

fn train(config: RunConfig) -> (Vec<EpochMetrics>, spikedelay::train::Summary) {
    let splits = splits_of(&config);
    let mut t = Trainer::new(config, splits.train.channels(), splits.train.classes()).unwrap();
    let s = t.run(&splits, &mut ()).unwrap();
    (t.history().to_vec(), s)
}

#[test]
fn training_lowers_the_loss() {
    let (h, _) = train(small_config(DelayMode::Learned, 6));
    let first = h[0].train_loss;
    let last = h.last().unwrap().train_loss;
    assert!(last < 0.8 * first, "train loss {first:.4} → {last:.4}");
    assert!(
        h.last().unwrap().valid_loss < h[0].valid_loss,
        "validation loss must fall too"
    );
}

#[test]
fn learned_delays_beat_no_delays_by_a_wide_margin() {
    let (_, learned) = train(small_config(DelayMode::Learned, 20));
    let (_, none) = train(small_config(DelayMode::None, 20));
    let chance = 1.0 / 6.0;
    assert!(
        none.test_accuracy < 2.0 * chance,
        "no delays should be near chance, got {:.3}",
        none.test_accuracy
    );
    assert!(
        learned.test_accuracy > 0.75 && learned.test_accuracy > none.test_accuracy + 0.45,
        "learned {:.3} vs none {:.3}",
        learned.test_accuracy,
        none.test_accuracy
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| train(small_config(DelayMode::Learned, 2)).0)
    };
    let (a, b) = (run(1), run(2));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (x.train_loss, x.valid_loss, x.test_accuracy),
            (y.train_loss, y.valid_loss, y.test_accuracy)
        );
    }
}

#[test]
fn sigma_follows_the_schedule_and_positions_stay_clamped() {
    let (h, _) = train(small_config(DelayMode::Learned, 8));
    // epochs // 4 = 2: σ_eff 12.27 at epoch 0, 0.5 from epoch 2 on.
    assert!((h[0].sigma - 12.27).abs() < 1e-4, "{}", h[0].sigma);
    assert!(h[1].sigma < h[0].sigma && h[1].sigma > 0.5);
    assert!(h[2..].iter().all(|m| (m.sigma - 0.5).abs() < 1e-4));
    let (hc, _) = train(small_config(DelayMode::ConstantSigma, 2));
    assert!(hc.iter().all(|m| (m.sigma - 0.5).abs() < 1e-4));
    let (hf, _) = train(small_config(DelayMode::Fixed, 2));
    assert!(hf.iter().all(|m| m.sigma == 0.0 && m.lr_positions == 0.0));
}

#[test]
fn accuracy_is_correct_over_total_even_with_a_small_last_batch() {
    // 240 test samples in batches of 100: the last batch holds 40, so the reference's mean of
    // per-batch accuracies weighs those 40 samples as much as each 100.
    let config = small_config(DelayMode::Learned, 3);
    let splits = splits_of(&config);
    let mut t = Trainer::new(config, splits.train.channels(), splits.train.classes()).unwrap();
    t.run(&splits, &mut ()).unwrap();
    let net = t.network();
    let test = splits.test.as_ref();
    let batched = evaluate(net, test, 100, SampleSteps::Own).unwrap();
    let whole = evaluate(net, test, test.len(), SampleSteps::Own).unwrap();
    // Every sample has the same length, so batching cannot change any prediction.
    assert_eq!(batched.correct, whole.correct);
    assert_eq!(batched.samples, 240);
    assert_eq!(batched.accuracy, batched.correct as f64 / 240.0);
    assert_eq!(batched.accuracy, whole.accuracy);
    assert_eq!(whole.batch_mean_accuracy, whole.accuracy);
    // The per-batch figure, recomputed by hand, differs and is not what is reported.
    let per_batch: Vec<f64> = [0..100, 100..200, 200..240]
        .into_iter()
        .map(|r| {
            let part = Part(test, r.collect());
            evaluate(net, &part, part.len(), SampleSteps::Own)
                .unwrap()
                .accuracy
        })
        .collect();
    let mean = per_batch.iter().sum::<f64>() / 3.0;
    assert!((batched.batch_mean_accuracy - mean).abs() < 1e-12);
    assert_ne!(
        batched.batch_mean_accuracy, batched.accuracy,
        "pick a case where the two figures differ: {per_batch:?}"
    );
    // The epoch records hold the same exact figures.
    let last = t.history().last().unwrap();
    assert_eq!(last.test_correct, whole.correct);
    assert_eq!(last.test_samples, 240);
    assert_eq!(last.test_accuracy, whole.accuracy);
    // Confusion rows add up to each class's samples; the diagonal to the correct ones.
    let diagonal: u64 = (0..whole.confusion.len())
        .map(|c| whole.confusion[c][c])
        .sum();
    assert_eq!(diagonal as usize, whole.correct);
    let total: u64 = whole.confusion.iter().flatten().sum();
    assert_eq!(total, 240);
}

/// Samples `.1` of a dataset.
struct Part<'a>(&'a dyn Dataset, Vec<usize>);

impl Dataset for Part<'_> {
    fn len(&self) -> usize {
        self.1.len()
    }
    fn channels(&self) -> usize {
        self.0.channels()
    }
    fn classes(&self) -> usize {
        self.0.classes()
    }
    fn label(&self, i: usize) -> usize {
        self.0.label(self.1[i])
    }
    fn steps(&self, i: usize) -> usize {
        self.0.steps(self.1[i])
    }
    fn write_frames(&self, i: usize, out: &mut [f32]) {
        self.0.write_frames(self.1[i], out)
    }
}
