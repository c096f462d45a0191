//! `Mpi`: the processes of an MPI job (`mpirun`, `srun --mpi=pmix`) as a [`Collective`],
//! through the system's MPI (the `mpi` crate over Debian's OpenMPI). Initialised only when an MPI
//! launcher started this process, so the same binary still runs alone.

use mpi::datatype::PartitionMut;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use mpi::{Count, Threading};

use super::{Collective, SampleExchange};
use crate::error::{Error, Result};

/// Environment variables an MPI launcher sets (OpenMPI's mpirun, PMI-2 and PMIx launchers such
/// as Slurm's srun).
const LAUNCHER_VARS: [&str; 4] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"];

/// This process's place in the MPI job.
pub struct Mpi {
    // Finalises MPI when dropped, after the communicator.
    world: SimpleCommunicator,
    _universe: Universe,
    rank: usize,
    size: usize,
}

// SAFETY: MPI is initialised with `MPI_THREAD_SERIALIZED` (checked in `from_launcher`), which
// allows calls from any thread as long as no two are concurrent; every call goes through
// `gather`, which the trainer makes from one thread at a time (a batch's steps are sequential).
unsafe impl Send for Mpi {}
// SAFETY: as above; `&Mpi` is only used for `gather`, never concurrently.
unsafe impl Sync for Mpi {}

impl std::fmt::Debug for Mpi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mpi {{ rank: {}, size: {} }}", self.rank, self.size)
    }
}

impl Mpi {
    /// MPI's world when an MPI launcher started this process; `None` otherwise.
    pub fn from_launcher() -> Result<Option<Mpi>> {
        if !LAUNCHER_VARS.iter().any(|v| std::env::var_os(v).is_some()) {
            return Ok(None);
        }
        let (universe, threading) = mpi::initialize_with_threading(Threading::Serialized)
            .ok_or_else(|| Error::config("mpi", "MPI was already initialised in this process"))?;
        if threading < Threading::Serialized {
            return Err(Error::config(
                "mpi",
                format!(
                    "this MPI library offers thread level {threading:?}; spikedelay needs \
                     MPI_THREAD_SERIALIZED (its MPI calls come from a worker thread)"
                ),
            ));
        }
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        Ok(Some(Mpi {
            world,
            _universe: universe,
            rank,
            size,
        }))
    }
}

impl SampleExchange for Mpi {
    fn gather(&self, local: Vec<f64>) -> Vec<f64> {
        let mut counts = vec![0 as Count; self.size];
        self.world
            .all_gather_into(&(local.len() as Count), &mut counts[..]);
        let displs: Vec<Count> = counts
            .iter()
            .scan(0, |at, &c| {
                let d = *at;
                *at += c;
                Some(d)
            })
            .collect();
        let total = counts.iter().map(|&c| c as usize).sum();
        let mut all = vec![0.0f64; total];
        {
            let mut partition = PartitionMut::new(&mut all[..], counts, &displs[..]);
            self.world
                .all_gather_varcount_into(&local[..], &mut partition);
        }
        all
    }
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
}

impl Collective for Mpi {
    fn describe(&self) -> String {
        format!("MPI, {} processes", self.size)
    }
}
