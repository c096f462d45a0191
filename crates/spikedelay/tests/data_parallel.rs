//! Data parallelism (docs/design.md §8): K processes, here K threads exchanging through the same
//! all-gather an MPI run uses (`ThreadGroup`), each holding `shards / K` shards of every batch,
//! train exactly what one process with the same `train.shards` trains: every parameter,
//! optimiser state and record bit for bit, on spike files whose samples differ in length (so
//! shards are padded to their batch's longest). And `train.shards = 1` is the whole batch at once.

use std::sync::Arc;

use spikedelay::config::RunConfig;
use spikedelay::data::Splits;
use spikedelay::train::parallel::{Collective, ThreadGroup};
use spikedelay::train::{Checkpoint, EpochMetrics, Trainer};

fn setup(dir: &std::path::Path) -> (RunConfig, Splits) {
    let (mut config, splits) = crate::common::synthetic_shd(dir, 12, 2);
    config.model.hidden = vec![24, 24];
    config.train.epochs = 3;
    config.train.batch_size = 50;
    (config, splits)
}

/// Records without wall time and thread count.
fn records(h: &[EpochMetrics]) -> Vec<serde_json::Value> {
    h.iter()
        .map(|m| {
            let mut v = serde_json::to_value(m).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("seconds");
            o.remove("threads");
            v
        })
        .collect()
}

/// Trains `config` on `collective`'s processes; returns each process's final state.
fn train(
    config: &RunConfig,
    splits: &Splits,
    group: Vec<ThreadGroup>,
) -> Vec<(Checkpoint, Vec<serde_json::Value>)> {
    std::thread::scope(|s| {
        let handles: Vec<_> = group
            .into_iter()
            .map(|rank| {
                let config = config.clone();
                s.spawn(move || {
                    let c: Arc<dyn Collective> = Arc::new(rank);
                    let mut t =
                        Trainer::new(config, splits.train.channels(), splits.train.classes())
                            .unwrap()
                            .with_collective(c)
                            .unwrap();
                    t.run(splits, &mut ()).unwrap();
                    (t.checkpoint(true), records(t.history()))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn k_processes_train_what_one_process_with_the_same_shards_trains() {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, splits) = setup(dir.path());
    let lengths: Vec<usize> = (0..splits.train.len())
        .map(|i| splits.train.steps(i))
        .collect();
    assert!(lengths.iter().max().unwrap() - lengths.iter().min().unwrap() >= 5);
    config.train.shards = 4;
    let one = train(&config, &splits, ThreadGroup::new(1)).pop().unwrap();
    for k in [2, 4] {
        let ranks = train(&config, &splits, ThreadGroup::new(k));
        for (r, (ck, rec)) in ranks.iter().enumerate() {
            assert!(
                ck.network == one.0.network,
                "K = {k}, rank {r}: the network differs"
            );
            assert!(
                ck.optimizer == one.0.optimizer,
                "K = {k}, rank {r}: optimiser state differs"
            );
            assert_eq!(rec, &one.1, "K = {k}, rank {r}: records differ");
        }
    }
    // The shards matter (each runs its own convolutions): 4 shards are not 1, though close.
    config.train.shards = 1;
    let whole = train(&config, &splits, ThreadGroup::new(1)).pop().unwrap();
    let (a, b) = (&whole.0.network.output.weight, &one.0.network.output.weight);
    let diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(diff < 1e-2, "1 vs 4 shards drift apart: {diff}");
}

#[test]
fn shards_that_do_not_divide_among_the_processes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, splits) = setup(dir.path());
    config.train.shards = 3;
    let c: Arc<dyn Collective> = Arc::new(ThreadGroup::new(2).remove(0));
    let e = Trainer::new(config, splits.train.channels(), splits.train.classes())
        .unwrap()
        .with_collective(c)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("train.shards") && e.contains("multiple of 2"),
        "{e}"
    );
}
