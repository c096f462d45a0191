//! Evaluation that does not depend on batching (method §15): on spike files whose samples have
//! different lengths, every decision is the same at any batch size, the same as a stream makes
//! sample by sample, and the reference's padded figure is kept apart.

use std::sync::Arc;

use spikedelay::data::{Dataset, make_batch};
use spikedelay::export::Stream;
use spikedelay::infer::{EventNetwork, SampleSteps, evaluate};
use spikedelay::train::{Checkpoint, Trainer};

/// A small synthetic SHD pair (samples of many lengths) and a network trained on it for two
/// epochs.
fn trained_on_spike_files(dir: &std::path::Path) -> (Checkpoint, spikedelay::data::Splits) {
    let (mut config, splits) = crate::common::synthetic_shd(dir, 30, 4);
    config.model.hidden = vec![48, 48];
    config.train.epochs = 20;
    config.train.batch_size = 32;
    let mut t = Trainer::new(config, splits.train.channels(), splits.train.classes()).unwrap();
    t.run(&splits, &mut ()).unwrap();
    (t.checkpoint(false), splits)
}

/// Sample `i` streamed frame by frame through the evaluation engine, then its tail.
fn streamed(engine: &Arc<EventNetwork>, data: &dyn Dataset, i: usize) -> usize {
    let b = make_batch(data, &[i]);
    let c = b.x.channels;
    let mut s = Stream::rounded(engine.clone());
    for row in b.x.sample(0).chunks_exact(c) {
        let events: Vec<usize> = row
            .iter()
            .enumerate()
            .flat_map(|(ch, &k)| std::iter::repeat_n(ch, k as usize))
            .collect();
        s.step(&events);
    }
    s.finish().unwrap()
}

#[test]
fn decisions_do_not_depend_on_the_batch_size_and_equal_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let (ck, splits) = trained_on_spike_files(dir.path());
    for data in [splits.valid.as_ref(), splits.test.as_ref()] {
        let n = data.len();
        let lengths: Vec<usize> = (0..n).map(|i| data.steps(i)).collect();
        let (lo, hi) = (lengths.iter().min().unwrap(), lengths.iter().max().unwrap());
        assert!(
            hi - lo >= 5,
            "the samples must differ in length: {lo}..{hi}"
        );
        let alone = evaluate(&ck.network, data, 1, SampleSteps::Own).unwrap();
        for batch in [7, n] {
            let r = evaluate(&ck.network, data, batch, SampleSteps::Own).unwrap();
            assert_eq!(r.decisions, alone.decisions, "batch size {batch}");
            assert_eq!(
                (r.correct, r.confusion.clone()),
                (alone.correct, alone.confusion.clone())
            );
            assert!((r.loss - alone.loss).abs() <= 1e-12 * alone.loss.abs().max(1.0));
            for (a, b) in r.spike_rates.iter().zip(&alone.spike_rates) {
                assert!(
                    (a - b).abs() <= 1e-12,
                    "spike rate {a} vs {b} at batch size {batch}"
                );
            }
        }
        assert!(alone.accuracy > 1.5 / 20.0, "trained: {}", alone.accuracy);
        // A stream decides each sample as evaluation does.
        let engine = Arc::new(EventNetwork::from_network(&ck.network));
        let stream: Vec<usize> = (0..n).map(|i| streamed(&engine, data, i)).collect();
        assert_eq!(stream, alone.decisions, "stream against eval");
        // The reference's padded batches: a batch of one is a sample alone; whole-split batches
        // run every sample to the longest one's end and change decisions.
        let padded_one = evaluate(&ck.network, data, 1, SampleSteps::PaddedBatch).unwrap();
        assert_eq!(padded_one.decisions, alone.decisions);
        let padded_all = evaluate(&ck.network, data, n, SampleSteps::PaddedBatch).unwrap();
        assert_eq!(padded_all.samples, n);
        eprintln!(
            "{n} samples of {lo}..{hi} steps: own steps {}/{n}, padded to the split {}/{n} \
             ({} decisions differ)",
            alone.correct,
            padded_all.correct,
            padded_all
                .decisions
                .iter()
                .zip(&alone.decisions)
                .filter(|(a, b)| a != b)
                .count()
        );
    }
}
