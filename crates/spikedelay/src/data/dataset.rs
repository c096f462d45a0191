//! The [`Dataset`] trait every kind of data implements, and the three [`Splits`] of a task.
//!
//! A dataset yields, per sample, a `(T_i, C)` frame of counts (or features) and a label; batches
//! zero-pad every sample at the end to the longest one and keep each sample's own length
//! (docs/method.md §1.1: training ignores it, evaluation runs each sample over it, §15).

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
    /// Name of each class, where the data names them (empty otherwise).
    fn class_names(&self) -> Vec<String> {
        Vec::new()
    }
    /// Class of sample `i`.
    fn label(&self, i: usize) -> usize;
    /// Frames of sample `i`.
    fn steps(&self, i: usize) -> usize;
    /// Adds sample `i`'s frames into `out` (`(steps(i), channels)` row-major, pre-zeroed).
    fn write_frames(&self, i: usize, out: &mut [f32]);
}

/// A shared dataset is a dataset (a held-out split and the training part view one file).
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
    fn class_names(&self) -> Vec<String> {
        (**self).class_names()
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
    /// Whether `valid` is the test set itself (selection on the test set, as the reference does
    /// for SHD): evaluated once per epoch.
    pub valid_is_test: bool,
}
