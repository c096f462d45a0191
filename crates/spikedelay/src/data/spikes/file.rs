//! Spike files in the SHD layout (HDF5, docs/datasets.md §1): reading with validation.
//!
//! Layout: `spikes/times` and `spikes/units` hold one variable-length array per sample (times in
//! seconds, ascending; channel ids), `labels` one class id per sample, `extra/speaker` one speaker
//! id per sample and `extra/keys` the word of each class id. The reader accepts any integer width
//! for units, labels and speakers and float16/32/64 times; it opens the file once and decodes one
//! sample at a time, so files larger than memory (SSC) stream through it.

use std::path::{Path, PathBuf};

use hdf5_reader::{ByteOrder, Datatype};

use crate::error::{Error, Result};
use crate::hdf5_numbers::{decode_floats, decode_ints};

/// Input channels of the cochlea model behind SHD and SSC.
pub const SHD_CHANNELS: usize = 700;

/// How a file stores spike times; binning reproduces float16 arithmetic for float16 files
/// (method §17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeWidth {
    /// IEEE binary16 (the published files).
    F16,
    /// binary32.
    F32,
    /// binary64.
    F64,
}

/// The spikes of one sample: times in seconds (widened exactly from the stored type) and units.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpikeSample {
    /// Spike times, seconds, ascending.
    pub times: Vec<f64>,
    /// Channel id of each spike (`< 700` in SHD and SSC).
    pub units: Vec<u32>,
}

/// An open SHD/SSC file: labels, speakers and keys in memory, spikes decoded on demand.
pub struct SpikeFile {
    path: PathBuf,
    times: hdf5_reader::Dataset,
    units: hdf5_reader::Dataset,
    time_refs: Vec<u8>,
    unit_refs: Vec<u8>,
    ref_size: usize,
    time_type: (usize, ByteOrder),
    unit_type: (usize, ByteOrder),
    channel_limit: Option<usize>,
    /// Time storage width.
    pub time_width: TimeWidth,
    /// Class id per sample.
    pub labels: Vec<u32>,
    /// Speaker id per sample (`None` when the file has no `extra/speaker`).
    pub speakers: Option<Vec<u32>>,
    /// Word of each class id, from `extra/keys` (empty when absent).
    pub keys: Vec<String>,
}

fn vlen_base(ds: &hdf5_reader::Dataset) -> Option<&Datatype> {
    match ds.dtype() {
        Datatype::VarLen { base, .. } => Some(base),
        _ => None,
    }
}

impl SpikeFile {
    /// Opens `path` and reads labels, speakers and keys; errors name the file and dataset.
    pub fn open(path: &Path) -> Result<Self> {
        let err = |m: String| Error::data(path, m);
        if !path.is_file() {
            return Err(err("no such file (expected an SHD/SSC HDF5 file)".into()));
        }
        let file = crate::hdf5_open::open(path, "an SHD/SSC HDF5 file")?;
        let open = |name: &str| {
            file.dataset(name).map_err(|e| {
                err(format!(
                    "missing dataset `{name}` ({e}); an SHD/SSC file has spikes/times, \
                     spikes/units, labels, extra/speaker and extra/keys"
                ))
            })
        };
        let times = open("spikes/times")?;
        let units = open("spikes/units")?;
        let labels_ds = open("labels")?;
        let n = times.shape().first().copied().unwrap_or(0) as usize;
        if times.shape().len() != 1 {
            return Err(err(format!(
                "`spikes/times` must be 1-D (one array per sample), has shape {:?}",
                times.shape()
            )));
        }
        for (name, ds) in [("spikes/units", &units), ("labels", &labels_ds)] {
            if ds.shape() != [n as u64] {
                return Err(err(format!(
                    "`{name}` has shape {:?}, expected [{n}] like `spikes/times`",
                    ds.shape()
                )));
            }
        }
        let time_type = match vlen_base(&times) {
            Some(Datatype::FloatingPoint { size, byte_order }) if matches!(size, 2 | 4 | 8) => {
                (*size as usize, *byte_order)
            }
            _ => {
                return Err(err(format!(
                    "`spikes/times` must hold variable-length float16/32/64 arrays, found {:?}",
                    times.dtype()
                )));
            }
        };
        let time_width = match time_type.0 {
            2 => TimeWidth::F16,
            4 => TimeWidth::F32,
            _ => TimeWidth::F64,
        };
        let unit_type = match vlen_base(&units) {
            Some(Datatype::FixedPoint {
                size, byte_order, ..
            }) if *size <= 8 => (*size as usize, *byte_order),
            _ => {
                return Err(err(format!(
                    "`spikes/units` must hold variable-length integer arrays, found {:?}",
                    units.dtype()
                )));
            }
        };
        let read_refs = |ds: &hdf5_reader::Dataset, name: &str| {
            ds.read_raw_bytes().map_err(|e| {
                err(format!(
                    "cannot read `{name}` ({e}); is the file truncated?"
                ))
            })
        };
        let time_refs = read_refs(&times, "spikes/times")?;
        let unit_refs = read_refs(&units, "spikes/units")?;
        let ref_size = times.vlen_reference_size();
        let labels = read_int_dataset(path, &labels_ds, "labels")?;
        let speakers = match file.dataset("extra/speaker") {
            Ok(ds) => {
                let s = read_int_dataset(path, &ds, "extra/speaker")?;
                if s.len() != n {
                    return Err(err(format!(
                        "`extra/speaker` has {} entries, expected {n}",
                        s.len()
                    )));
                }
                Some(s)
            }
            Err(_) => None,
        };
        let keys = match file.dataset("extra/keys") {
            Ok(ds) => ds
                .read_strings()
                .map_err(|e| err(format!("`extra/keys` must hold strings ({e})")))?,
            Err(_) => Vec::new(),
        };
        let f = SpikeFile {
            path: path.to_path_buf(),
            times,
            units,
            time_refs,
            unit_refs,
            ref_size,
            time_type,
            unit_type,
            channel_limit: None,
            time_width,
            labels,
            speakers,
            keys,
        };
        if f.time_refs.len() != n * ref_size || f.unit_refs.len() != n * ref_size {
            return Err(err("spike arrays are truncated".into()));
        }
        Ok(f)
    }

    /// Refuses samples with a unit id `≥ channels` (the data's channel count, where known).
    pub fn set_channel_limit(&mut self, channels: Option<usize>) {
        self.channel_limit = channels;
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the file holds no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of classes: the number of keys, or (without keys) one more than the largest label.
    pub fn classes(&self) -> usize {
        if self.keys.is_empty() {
            self.labels.iter().max().map_or(0, |&m| m as usize + 1)
        } else {
            self.keys.len()
        }
    }

    /// Decodes and validates sample `i`: equal lengths, finite non-negative ascending times,
    /// units below the channel limit. Errors name the file, sample and field.
    pub fn sample(&self, i: usize) -> Result<SpikeSample> {
        let err = |m: String| Error::data(&self.path, format!("sample {i}: {m}"));
        let r = i * self.ref_size..(i + 1) * self.ref_size;
        let tb = self
            .times
            .resolve_vlen_reference_bytes(&self.time_refs[r.clone()], self.time_type.0)
            .map_err(|e| err(format!("cannot read `spikes/times` ({e})")))?;
        let ub = self
            .units
            .resolve_vlen_reference_bytes(&self.unit_refs[r], self.unit_type.0)
            .map_err(|e| err(format!("cannot read `spikes/units` ({e})")))?;
        let times = decode_floats(&tb, self.time_type.0, self.time_type.1);
        let signed = matches!(
            vlen_base(&self.units),
            Some(Datatype::FixedPoint { signed: true, .. })
        );
        let units = decode_ints(&ub, self.unit_type.0, signed, self.unit_type.1)
            .ok_or_else(|| err("`spikes/units` holds a negative unit id".into()))?;
        if times.len() != units.len() {
            return Err(err(format!(
                "`spikes/times` has {} spikes but `spikes/units` has {}",
                times.len(),
                units.len()
            )));
        }
        if let Some(limit) = self.channel_limit
            && let Some(k) = units.iter().position(|&u| u >= limit as u64)
        {
            return Err(err(format!(
                "`spikes/units`[{k}] = {} is not below the {limit} channels",
                units[k]
            )));
        }
        if let Some(k) = times.iter().position(|t| !(t.is_finite() && *t >= 0.0)) {
            return Err(err(format!(
                "`spikes/times`[{k}] = {} is not a finite non-negative time in seconds",
                times[k]
            )));
        }
        if let Some(k) = times.windows(2).position(|w| w[1] < w[0]) {
            return Err(err(format!(
                "`spikes/times` is not ascending at index {}: {} s after {} s",
                k + 1,
                times[k + 1],
                times[k]
            )));
        }
        Ok(SpikeSample {
            times,
            units: units.into_iter().map(|u| u as u32).collect(),
        })
    }

    /// Checks that every label is below `classes`; the error names the sample.
    pub fn check_labels(&self, classes: usize) -> Result<()> {
        match self.labels.iter().position(|&l| l as usize >= classes) {
            Some(i) => Err(Error::data(
                &self.path,
                format!(
                    "sample {i}: `labels` = {} is out of range for {classes} classes",
                    self.labels[i]
                ),
            )),
            None => Ok(()),
        }
    }
}

fn read_int_dataset(path: &Path, ds: &hdf5_reader::Dataset, name: &str) -> Result<Vec<u32>> {
    let err = |m: String| Error::data(path, m);
    let (size, signed, order) = match ds.dtype() {
        Datatype::FixedPoint {
            size,
            signed,
            byte_order,
        } if *size <= 8 => (*size as usize, *signed, *byte_order),
        other => {
            return Err(err(format!("`{name}` must hold integers, found {other:?}")));
        }
    };
    let raw = ds.read_raw_bytes().map_err(|e| {
        err(format!(
            "cannot read `{name}` ({e}); is the file truncated?"
        ))
    })?;
    let values = decode_ints(&raw, size, signed, order);
    let values = values.ok_or_else(|| err(format!("`{name}` holds a negative value")))?;
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            u32::try_from(v).map_err(|_| err(format!("sample {i}: `{name}` = {v} is too large")))
        })
        .collect()
}
