//! Data: SHD/SSC spike files (read, write, bin, cache), GSC folders (WAV → log-mel, cache), the
//! built-in `delay-patterns` task, splits and batching.
//!
//! A dataset yields, per sample, a `(T_i, C)` frame of counts (or features) and a label; batches
//! zero-pad every sample at the end to the longest one (method §1.1, no masking anywhere).

pub mod batch;
pub mod binning;
pub mod cache_file;
pub mod delay_patterns;
pub mod download;
pub mod gsc;
pub mod inspect;
pub mod log_mel;
pub mod resample;
pub mod source;
pub mod spike_file;
pub mod spike_file_writer;
pub mod spike_frames;
pub mod subset;
pub mod synthetic_gsc;
pub mod synthetic_shd;
pub mod wav;

pub use batch::{Batch, make_batch};
pub use delay_patterns::{DelayPatterns, DelayPatternsConfig};
pub use source::load_splits;
pub use spike_frames::LoadProgress;

/// A labelled collection of frame sequences.
pub trait Dataset: Sync {
    /// Number of samples.
    fn len(&self) -> usize;
    /// Whether there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Channels per frame.
    fn channels(&self) -> usize;
    /// Number of classes.
    fn classes(&self) -> usize;
    /// Class of sample `i`.
    fn label(&self, i: usize) -> usize;
    /// Frames of sample `i`.
    fn steps(&self, i: usize) -> usize;
    /// Adds sample `i`'s frames into `out` (`(steps(i), channels)` row-major, pre-zeroed).
    fn write_frames(&self, i: usize, out: &mut [f32]);
}

/// A shared dataset is a dataset (SHD's held-out split and its training part view one file).
impl<T: Dataset + ?Sized + Send> Dataset for std::sync::Arc<T> {
    fn len(&self) -> usize {
        (**self).len()
    }
    fn channels(&self) -> usize {
        (**self).channels()
    }
    fn classes(&self) -> usize {
        (**self).classes()
    }
    fn label(&self, i: usize) -> usize {
        (**self).label(i)
    }
    fn steps(&self, i: usize) -> usize {
        (**self).steps(i)
    }
    fn write_frames(&self, i: usize, out: &mut [f32]) {
        (**self).write_frames(i, out)
    }
}

/// Train, validation and test sets of one task.
pub struct Splits {
    /// Training set.
    pub train: Box<dyn Dataset>,
    /// Validation set (model selection).
    pub valid: Box<dyn Dataset>,
    /// Test set (reported only).
    pub test: Box<dyn Dataset>,
}
