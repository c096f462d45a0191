//! Subsets of a dataset, and the stratified held-out validation split carved from a training set
//! that has none (SHD, docs/datasets.md §1.3).

use std::sync::Arc;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::dataset::Dataset;

/// The samples `indices` of a shared dataset, in that order.
pub struct Subset {
    data: Arc<dyn Dataset + Send>,
    indices: Vec<usize>,
}

impl Subset {
    /// A view of `indices` of `data`.
    pub fn new(data: Arc<dyn Dataset + Send>, indices: Vec<usize>) -> Self {
        Subset { data, indices }
    }
}

impl Dataset for Subset {
    fn len(&self) -> usize {
        self.indices.len()
    }
    fn channels(&self) -> usize {
        self.data.channels()
    }
    fn classes(&self) -> usize {
        self.data.classes()
    }
    fn class_names(&self) -> Vec<String> {
        self.data.class_names()
    }
    fn label(&self, i: usize) -> usize {
        self.data.label(self.indices[i])
    }
    fn steps(&self, i: usize) -> usize {
        self.data.steps(self.indices[i])
    }
    fn write_frames(&self, i: usize, out: &mut [f32]) {
        self.data.write_frames(self.indices[i], out)
    }
}

/// Splits sample indices into (train, valid), putting `round(fraction · n_c)` samples of every
/// class `c` into valid, chosen by a seeded shuffle. Both lists are in ascending order.
pub fn stratified_split(labels: &[usize], fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let classes = labels.iter().max().map_or(0, |&m| m + 1);
    let mut by_class = vec![Vec::new(); classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l].push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5348_445f_7661_6c69);
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for mut members in by_class {
        members.shuffle(&mut rng);
        let k = (fraction * members.len() as f64).round() as usize;
        valid.extend_from_slice(&members[..k]);
        train.extend_from_slice(&members[k..]);
    }
    train.sort_unstable();
    valid.sort_unstable();
    (train, valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratified_split_takes_ten_percent_of_every_class() {
        let labels: Vec<usize> = (0..1000)
            .map(|i| if i < 300 { 0 } else { 1 + i % 3 })
            .collect();
        let (train, valid) = stratified_split(&labels, 0.1, 0);
        assert_eq!(train.len() + valid.len(), 1000);
        let count = |set: &[usize], c| set.iter().filter(|&&i| labels[i] == c).count();
        assert_eq!(count(&valid, 0), 30);
        for c in 1..4 {
            let n = labels.iter().filter(|&&l| l == c).count();
            assert_eq!(count(&valid, c), (0.1 * n as f64).round() as usize);
        }
        let mut all: Vec<usize> = train.iter().chain(&valid).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        assert_eq!(stratified_split(&labels, 0.1, 0), (train, valid.clone()));
        assert_ne!(stratified_split(&labels, 0.1, 1).1, valid);
    }
}
