//! Numerical kernels: free functions over `f32` slices in fixed layouts.
//!
//! Layers (in [`crate::model`]) check shapes once and call these; kernels only `debug_assert!`.

pub mod delay_conv;
pub mod gemm_conv;
pub mod vector;
