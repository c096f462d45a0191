//! `ThreadGroup`: K "processes" as K threads of one process, exchanging through shared memory
//! with the same all-gather an MPI run uses. It lets the tests (and a user without MPI) check that
//! K data-parallel ranks give one process's results bit for bit.

use std::sync::{Arc, Barrier, Mutex};

use super::{Collective, SampleExchange};

/// One rank of a group of threads.
#[derive(Debug)]
pub struct ThreadGroup {
    rank: usize,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    slots: Mutex<Vec<Vec<f64>>>,
    barrier: Barrier,
}

impl ThreadGroup {
    /// `size` ranks, to be moved one to each thread.
    pub fn new(size: usize) -> Vec<ThreadGroup> {
        let shared = Arc::new(Shared {
            slots: Mutex::new(vec![Vec::new(); size]),
            barrier: Barrier::new(size),
        });
        (0..size)
            .map(|rank| ThreadGroup {
                rank,
                shared: shared.clone(),
            })
            .collect()
    }
}

impl SampleExchange for ThreadGroup {
    fn gather(&self, local: Vec<f64>) -> Vec<f64> {
        self.shared.slots.lock().expect("slots")[self.rank] = local;
        self.shared.barrier.wait();
        let all = self.shared.slots.lock().expect("slots").concat();
        // Nobody writes the next round before everyone has read this one.
        self.shared.barrier.wait();
        all
    }
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.shared.barrier_size()
    }
}

impl Shared {
    fn barrier_size(&self) -> usize {
        self.slots.lock().expect("slots").len()
    }
}

impl Collective for ThreadGroup {
    fn describe(&self) -> String {
        format!(
            "{} threads standing for processes",
            self.shared.barrier_size()
        )
    }
}
