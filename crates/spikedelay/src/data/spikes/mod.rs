//! Spike data in the SHD layout (HDF5: per sample, spike times in seconds and unit ids; a
//! label; docs/datasets.md §1): reading ([`mod@file`]) and writing ([`writer`]) such files, binning
//! them into count frames ([`binning`]), the binned cache ([`frames`]), binning as events arrive ([`stream_binner`]), and the `spike-file`
//! dataset kind ([`source`]).

pub mod binning;
pub mod csv_events;
pub mod file;
pub mod frames;
pub mod source;
pub mod stream_binner;
pub mod writer;
