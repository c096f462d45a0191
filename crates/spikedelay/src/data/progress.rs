//! [`LoadProgress`]: how long data preparation (cache builds, feature extraction, downloads)
//! reports where it stands; the CLI draws progress bars from it.

/// Reports progress of long data preparation.
pub trait LoadProgress {
    /// A stage of `total` items starts.
    fn start(&mut self, _what: &str, _total: usize) {}
    /// `n` more items are done.
    fn advance(&mut self, _n: usize) {}
    /// The stage is done.
    fn finish(&mut self) {}
    /// Something the user should know about the data (not an error).
    fn note(&mut self, _message: &str) {}
}

/// Reports nothing.
impl LoadProgress for () {}
