//! What every file-based kind does the same way on its way to [`Splits`]: finding its files,
//! carving a validation split out of the training data where there is none (stratified, so
//! each class keeps its share; docs/datasets.md §1.3), applying the selection protocol, and
//! refusing empty splits.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::config::SelectOn;
use super::dataset::{Dataset, Splits};
use super::subset::{Subset, stratified_split};
use crate::error::{Error, Result};

/// `dir/name`, which must be a file; `what` says what the file is (for the error).
pub fn require_file(dir: &Path, name: &str, what: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::NotFound {
            path,
            what: what.to_string(),
        })
    }
}

/// A shared dataset.
pub type Shared = Arc<dyn Dataset + Send>;

/// How the validation split is made when the data has none of its own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeldOut {
    /// Share of each class of the training data held out.
    pub fraction: f64,
    /// Seed of the choice.
    pub seed: u64,
}

/// The splits from a training set, an optional validation set (else `held_out` of the
/// training set) and a test set, with the test set selecting the epoch when `select_on` says
/// so. `source` names the data in errors.
pub fn assemble(
    source: &Path,
    train: Shared,
    valid: Option<Shared>,
    held_out: HeldOut,
    test: Shared,
    select_on: SelectOn,
) -> Result<Splits> {
    let valid_is_test = select_on == SelectOn::Test;
    let (train, valid) = match (select_on, valid) {
        (SelectOn::Test, _) => (train, test.clone()),
        (SelectOn::Valid, Some(valid)) => (train, valid),
        (SelectOn::Valid, None) => {
            let labels: Vec<usize> = (0..train.len()).map(|i| train.label(i)).collect();
            let (tr, va) = stratified_split(&labels, held_out.fraction, held_out.seed);
            let valid: Shared = Arc::new(Subset::new(train.clone(), va));
            (Arc::new(Subset::new(train, tr)) as Shared, valid)
        }
    };
    for (name, set) in [
        ("training", &train),
        ("validation", &valid),
        ("test", &test),
    ] {
        if set.is_empty() {
            return Err(Error::data(source, format!("the {name} split is empty")));
        }
    }
    Ok(Splits {
        train: Box::new(train),
        valid: Box::new(valid),
        test: Box::new(test),
        valid_is_test,
    })
}
