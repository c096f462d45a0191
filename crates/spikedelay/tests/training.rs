//! Training behaviour on small `delay-patterns` tasks.

use spikedelay::config::RunConfig;
use spikedelay::model::DelayMode;
use spikedelay::train::{EpochMetrics, Trainer};

/// A CI-sized task and network.
pub fn small_config(delays: DelayMode, epochs: usize) -> RunConfig {
    let mut c = RunConfig::default();
    let d = &mut c.delay_patterns;
    d.classes = 6;
    d.channels = 12;
    d.motif_channels = 6;
    d.steps = 40;
    d.train_samples = 960;
    d.valid_samples = 240;
    d.test_samples = 240;
    c.model.hidden = vec![32, 32];
    c.model.delays = delays;
    c.train.epochs = epochs;
    c.train.batch_size = 32;
    c
}

fn train(config: RunConfig) -> (Vec<EpochMetrics>, spikedelay::train::Summary) {
    let splits = config.delay_patterns.generate().unwrap();
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
