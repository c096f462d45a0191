//! Writing spike files in the SHD layout (docs/datasets.md §1) in the published format: variable-length
//! float16 times and u16 units, u16 labels and speakers, string keys, and SHD's `meta_info`.
//! Wider types can be chosen to exercise tolerant readers. Files are written atomically.

use std::path::Path;

use half::f16;
use hdf5_writer::{ByteOrder, DatasetBuilder, Datatype, Hdf5Builder, WriteOptions};

use super::file::{SpikeSample, TimeWidth};
use crate::atomic_file::write_atomic;
use crate::error::{Error, Result};

/// SHD's per-speaker metadata (`extra/meta_info`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpeakerInfo {
    /// `male` / `female` per speaker id.
    pub gender: Vec<String>,
    /// Age per speaker id.
    pub age: Vec<u16>,
    /// Body height (cm) per speaker id.
    pub body_height: Vec<u16>,
}

/// Everything one SHD/SSC file holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpikeFileContents {
    /// Spikes per sample (sorted by time, ties by unit, when written).
    pub samples: Vec<SpikeSample>,
    /// Class id per sample.
    pub labels: Vec<u32>,
    /// Speaker id per sample.
    pub speakers: Vec<u32>,
    /// Word per class id.
    pub keys: Vec<String>,
    /// SHD-only speaker metadata.
    pub meta_info: Option<SpeakerInfo>,
}

/// Storage types for [`write_spike_file`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpikeFileTypes {
    /// Width of times.
    pub times: TimeWidth,
    /// Bytes per unit id (1, 2, 4 or 8).
    pub unit_bytes: u8,
    /// Bytes per label and speaker id (1, 2, 4 or 8).
    pub label_bytes: u8,
}

impl SpikeFileTypes {
    /// The published files' types: float16 times, u16 units, labels and speakers.
    pub const PUBLISHED: SpikeFileTypes = SpikeFileTypes {
        times: TimeWidth::F16,
        unit_bytes: 2,
        label_bytes: 2,
    };
}

fn le_uint(v: u64, bytes: u8, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.to_le_bytes()[..bytes as usize]);
}

fn uint_type(bytes: u8) -> Datatype {
    Datatype::FixedPoint {
        size: bytes,
        signed: false,
        byte_order: ByteOrder::LittleEndian,
    }
}

fn uints(name: &str, values: &[u32], bytes: u8) -> Result<DatasetBuilder> {
    let mut raw = Vec::with_capacity(values.len() * bytes as usize);
    values
        .iter()
        .for_each(|&v| le_uint(v as u64, bytes, &mut raw));
    let ds = DatasetBuilder::new(name, uint_type(bytes), vec![values.len() as u64]).raw_data(raw);
    ds.validate()
        .map_err(|e| Error::data(name, format!("encoding HDF5: {e}")))?;
    Ok(ds)
}

/// Checks that `contents` is a consistent file: lengths, unit ids that fit `unit_bytes`, labels
/// within the keys.
pub fn check_contents(
    contents: &SpikeFileContents,
    unit_bytes: u8,
) -> std::result::Result<(), String> {
    let unit_max = if unit_bytes >= 4 {
        u32::MAX as u64
    } else {
        (1u64 << (8 * unit_bytes as u32)) - 1
    };
    let n = contents.samples.len();
    if contents.labels.len() != n || contents.speakers.len() != n {
        return Err(format!(
            "{n} samples but {} labels and {} speakers",
            contents.labels.len(),
            contents.speakers.len()
        ));
    }
    for (i, s) in contents.samples.iter().enumerate() {
        if s.times.len() != s.units.len() {
            return Err(format!("sample {i}: times and units differ in length"));
        }
        if let Some(&u) = s.units.iter().find(|&&u| u as u64 > unit_max) {
            return Err(format!(
                "sample {i}: unit id {u} does not fit {unit_bytes}-byte units"
            ));
        }
    }
    if let Some(i) = contents
        .labels
        .iter()
        .position(|&l| l as usize >= contents.keys.len())
    {
        return Err(format!(
            "sample {i}: label {} has no key",
            contents.labels[i]
        ));
    }
    Ok(())
}

/// Writes `contents` to `path` (atomically) with the given storage types. Within each sample
/// spikes are sorted by time, ties by unit (docs/datasets.md §1.6).
pub fn write_spike_file(
    path: &Path,
    contents: &SpikeFileContents,
    types: SpikeFileTypes,
) -> Result<()> {
    check_contents(contents, types.unit_bytes).map_err(|m| Error::data(path, m))?;
    let n = contents.samples.len() as u64;
    let (mut times, mut units) = (Vec::new(), Vec::new());
    for s in &contents.samples {
        let mut order: Vec<usize> = (0..s.times.len()).collect();
        order.sort_by(|&a, &b| {
            s.times[a]
                .total_cmp(&s.times[b])
                .then(s.units[a].cmp(&s.units[b]))
        });
        let (mut tb, mut ub) = (Vec::new(), Vec::new());
        for &k in &order {
            let t = s.times[k];
            match types.times {
                TimeWidth::F16 => tb.extend_from_slice(&f16::from_f64(t).to_le_bytes()),
                TimeWidth::F32 => tb.extend_from_slice(&(t as f32).to_le_bytes()),
                TimeWidth::F64 => tb.extend_from_slice(&t.to_le_bytes()),
            }
            le_uint(s.units[k] as u64, types.unit_bytes, &mut ub);
        }
        times.push(tb);
        units.push(ub);
    }
    let time_size = match types.times {
        TimeWidth::F16 => 2,
        TimeWidth::F32 => 4,
        TimeWidth::F64 => 8,
    };
    let h5 = |e: hdf5_writer::Error| Error::data(path, format!("encoding HDF5: {e}"));
    let float = Datatype::FloatingPoint {
        size: time_size,
        byte_order: ByteOrder::LittleEndian,
    };
    let mut builder = Hdf5Builder::new()
        .dataset(
            DatasetBuilder::vlen_sequence_data("spikes/times", float, vec![n], times)
                .map_err(h5)?,
        )
        .dataset(
            DatasetBuilder::vlen_sequence_data(
                "spikes/units",
                uint_type(types.unit_bytes),
                vec![n],
                units,
            )
            .map_err(h5)?,
        )
        .dataset(uints("labels", &contents.labels, types.label_bytes)?)
        .dataset(uints(
            "extra/speaker",
            &contents.speakers,
            types.label_bytes,
        )?)
        .dataset(
            DatasetBuilder::vlen_string_data(
                "extra/keys",
                vec![contents.keys.len() as u64],
                &contents.keys,
            )
            .map_err(h5)?,
        );
    if let Some(meta) = &contents.meta_info {
        let k = meta.gender.len() as u64;
        let widen = |v: &[u16]| v.iter().map(|&x| x as u32).collect::<Vec<_>>();
        builder = builder
            .dataset(
                DatasetBuilder::vlen_string_data("extra/meta_info/gender", vec![k], &meta.gender)
                    .map_err(h5)?,
            )
            .dataset(uints("extra/meta_info/age", &widen(&meta.age), 2)?)
            .dataset(uints(
                "extra/meta_info/body_height",
                &widen(&meta.body_height),
                2,
            )?);
    }
    let plan = builder.into_plan().map_err(h5)?;
    let bytes = plan.encode(WriteOptions::default()).map_err(h5)?;
    write_atomic(path, &bytes)
}
