//! From `[data]` to train / validation / test datasets: generates the built-in task, or loads
//! SHD/SSC (binned, cached) or GSC (log-mel, cached) from `data.dir`, and applies the selection
//! protocol (a held-out split of SHD's training file, or the test set as the reference does).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::binning::Binning;
use super::gsc::{GscLayout, load_gsc_split};
use super::spike_frames::{LoadProgress, SpikeFrames, load_spike_frames};
use super::subset::{Subset, stratified_split};
use super::{Dataset, Splits};
use crate::config::{DatasetKind, RunConfig, SelectOn};
use crate::error::{Error, Result};

fn require(dir: &Path, name: &str, dataset: DatasetKind) -> Result<PathBuf> {
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::data(
            &path,
            format!(
                "not found; get the {0} files with `spikedelay data download {0} --data-dir {1}` \
                 (or write a synthetic stand-in with `spikedelay data make-synthetic --format {0} {1}`)",
                dataset.name(),
                dir.display()
            ),
        ))
    }
}

/// Loads the splits `config` describes, reporting cache builds to `progress`.
pub fn load_splits(config: &RunConfig, progress: &mut dyn LoadProgress) -> Result<Splits> {
    let d = &config.data;
    let dir = match (d.dataset, &d.dir) {
        (DatasetKind::DelayPatterns, _) => return config.delay_patterns.generate(),
        (_, Some(dir)) => dir.clone(),
        (other, None) => {
            return Err(Error::config(
                "data.dir",
                format!(
                    "is required for dataset `{}` (pass --data-dir DIR)",
                    other.name()
                ),
            ));
        }
    };
    let cache_dir = d.cache_dir().expect("data.dir is set");
    let binning = Binning {
        mode: d.binning,
        duration_ms: config.model.time_step_ms,
        pool: d.pool,
    };
    let mut spikes = |name: &str| -> Result<SpikeFrames> {
        let path = require(&dir, name, d.dataset)?;
        load_spike_frames(&path, &cache_dir, &binning, progress)
    };
    let (train, valid, test): (Arc<dyn Dataset + Send>, _, Arc<dyn Dataset + Send>) = match d
        .dataset
    {
        DatasetKind::Shd => {
            let mut train = spikes("shd_train.h5")?;
            let mut test = spikes("shd_test.h5")?;
            let classes = train.classes().max(test.classes());
            train.set_classes(classes);
            test.set_classes(classes);
            let test: Arc<dyn Dataset + Send> = Arc::new(test);
            match d.select_on {
                SelectOn::Valid => {
                    let labels: Vec<usize> = train.labels().iter().map(|&l| l as usize).collect();
                    let (tr, va) = stratified_split(&labels, d.valid_fraction, d.valid_seed);
                    let train: Arc<dyn Dataset + Send> = Arc::new(train);
                    let valid: Arc<dyn Dataset + Send> = Arc::new(Subset::new(train.clone(), va));
                    (Arc::new(Subset::new(train, tr)) as _, valid, test)
                }
                SelectOn::Test => (Arc::new(train) as _, test.clone(), test),
            }
        }
        DatasetKind::Ssc => {
            let mut sets = [
                spikes("ssc_train.h5")?,
                spikes("ssc_valid.h5")?,
                spikes("ssc_test.h5")?,
            ];
            let classes = sets.iter().map(|s| s.classes()).max().unwrap_or(0);
            sets.iter_mut().for_each(|s| s.set_classes(classes));
            let [train, valid, test] = sets.map(|s| Arc::new(s) as Arc<dyn Dataset + Send>);
            let valid = if d.select_on == SelectOn::Test {
                test.clone()
            } else {
                valid
            };
            (train, valid, test)
        }
        DatasetKind::Gsc => {
            let layout = GscLayout::scan(&dir)?;
            let f_max = d.mel_f_max;
            let mut split = |s, name| -> Result<Arc<dyn Dataset + Send>> {
                Ok(Arc::new(load_gsc_split(
                    &layout, s, name, &cache_dir, f_max, progress,
                )?))
            };
            let train = split(&layout.training, "training")?;
            let test = split(&layout.testing, "testing")?;
            let valid = if d.select_on == SelectOn::Test {
                test.clone()
            } else {
                split(&layout.validation, "validation")?
            };
            (train, valid, test)
        }
        DatasetKind::DelayPatterns => unreachable!("handled above"),
    };
    for (name, set) in [
        ("training", &train),
        ("validation", &valid),
        ("test", &test),
    ] {
        if set.is_empty() {
            return Err(Error::data(
                &dir,
                format!("the {name} split of `{}` is empty", d.dataset.name()),
            ));
        }
    }
    Ok(Splits {
        train: Box::new(train),
        valid: Box::new(valid),
        test: Box::new(test),
    })
}
