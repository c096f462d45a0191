//! Generated data: the built-in `delay-patterns` task (a dataset kind of its own), and
//! synthetic stand-ins written in the exact SHD file format ([`shd`]) and GSC folder layout
//! ([`gsc`]) so every pipeline runs offline.

pub mod delay_patterns;
pub mod gsc;
pub mod shd;
