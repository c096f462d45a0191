//! Numerical kernels: free functions over `f32` slices in fixed layouts.
//!
//! [`conv`] holds the five ways of computing a delay convolution and its gradients, [`plan`]
//! the choice between them (the cost model, docs/design.md §3), [`simd`] the 16-lane vectors
//! some of them use, chosen for the running CPU, and [`vector`] small loops LLVM vectorises.
//! Layers (in [`crate::model`]) check shapes once and call these; kernels only `debug_assert!`.

pub mod conv;
pub mod elementary;
pub mod plan;
pub mod recycle;
pub mod simd;
pub mod vector;

/// Deterministic test data shared by the kernel tests.
#[cfg(test)]
pub(crate) mod test_data {
    /// `n` values in [−1, 1) from a hash of the index and `seed`; with `keep_every > 0` only
    /// every `keep_every`-th value (by hash) is non-zero.
    pub fn pseudo(n: usize, seed: u32, keep_every: u32) -> Vec<f32> {
        (0..n)
            .map(|j| {
                let h = (j as u32)
                    .wrapping_mul(2654435761)
                    .wrapping_add(seed.wrapping_mul(97));
                if keep_every > 0 && !h.is_multiple_of(keep_every) {
                    0.0
                } else {
                    ((h >> 8) % 1000) as f32 / 500.0 - 1.0
                }
            })
            .collect()
    }
}
