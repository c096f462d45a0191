//! `F32x16`: sixteen `f32` lanes, for the few kernels whose register blocking LLVM does not
//! vectorise on its own ([`super::narrow_conv`]).
//!
//! One AVX-512 register where the build targets AVX-512 (`.cargo/config.toml` builds for the
//! host CPU), two AVX registers with FMA where it targets AVX2, plain arrays elsewhere.

#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
mod imp {
    use std::arch::x86_64::*;

    /// Sixteen lanes in one AVX-512 register.
    #[derive(Clone, Copy)]
    pub struct F32x16(__m512);

    impl F32x16 {
        /// All lanes zero.
        #[inline(always)]
        pub fn zero() -> Self {
            // Safety: this module is compiled only where the build enables the feature.
            unsafe { F32x16(_mm512_setzero_ps()) }
        }
        /// All lanes `v`.
        #[inline(always)]
        pub fn splat(v: f32) -> Self {
            // Safety: this module is compiled only where the build enables the feature.
            unsafe { F32x16(_mm512_set1_ps(v)) }
        }
        /// Lanes `s[0..16]`.
        #[inline(always)]
        pub fn load(s: &[f32]) -> Self {
            assert!(s.len() >= 16);
            // Safety: 16 readable values checked above; unaligned load.
            F32x16(unsafe { _mm512_loadu_ps(s.as_ptr()) })
        }
        /// Writes the lanes to `d[0..16]`.
        #[inline(always)]
        pub fn store(self, d: &mut [f32]) {
            assert!(d.len() >= 16);
            // Safety: 16 writable values checked above; unaligned store.
            unsafe { _mm512_storeu_ps(d.as_mut_ptr(), self.0) }
        }
        /// `self · b + c`, fused.
        #[inline(always)]
        pub fn mul_add(self, b: Self, c: Self) -> Self {
            // Safety: this module is compiled only where the build enables the feature.
            unsafe { F32x16(_mm512_fmadd_ps(self.0, b.0, c.0)) }
        }
        /// Sum of the lanes.
        #[inline(always)]
        pub fn sum(self) -> f32 {
            // Safety: this module is compiled only where the build enables the feature.
            unsafe { _mm512_reduce_add_ps(self.0) }
        }
    }
}

#[cfg(all(
    target_arch = "x86_64",
    target_feature = "avx2",
    target_feature = "fma",
    not(target_feature = "avx512f")
))]
mod imp {
    use std::arch::x86_64::*;

    /// Sixteen lanes in two AVX registers.
    #[derive(Clone, Copy)]
    pub struct F32x16(__m256, __m256);

    impl F32x16 {
        /// All lanes zero.
        #[inline(always)]
        pub fn zero() -> Self {
            // Safety: this module is compiled only where the build enables the feature.
            unsafe { F32x16(_mm256_setzero_ps(), _mm256_setzero_ps()) }
        }
        /// All lanes `v`.
        #[inline(always)]
        pub fn splat(v: f32) -> Self {
            // Safety: this module is compiled only where the build enables the feature.
            unsafe { F32x16(_mm256_set1_ps(v), _mm256_set1_ps(v)) }
        }
        /// Lanes `s[0..16]`.
        #[inline(always)]
        pub fn load(s: &[f32]) -> Self {
            assert!(s.len() >= 16);
            // Safety: 16 readable values checked above; unaligned loads.
            unsafe {
                F32x16(
                    _mm256_loadu_ps(s.as_ptr()),
                    _mm256_loadu_ps(s.as_ptr().add(8)),
                )
            }
        }
        /// Writes the lanes to `d[0..16]`.
        #[inline(always)]
        pub fn store(self, d: &mut [f32]) {
            assert!(d.len() >= 16);
            // Safety: 16 writable values checked above; unaligned stores.
            unsafe {
                _mm256_storeu_ps(d.as_mut_ptr(), self.0);
                _mm256_storeu_ps(d.as_mut_ptr().add(8), self.1);
            }
        }
        /// `self · b + c` (fused where the CPU has FMA).
        #[inline(always)]
        pub fn mul_add(self, b: Self, c: Self) -> Self {
            // Safety: this module is compiled only where the build enables the features.
            unsafe {
                F32x16(
                    _mm256_fmadd_ps(self.0, b.0, c.0),
                    _mm256_fmadd_ps(self.1, b.1, c.1),
                )
            }
        }
        /// Sum of the lanes.
        #[inline(always)]
        pub fn sum(self) -> f32 {
            let mut lanes = [0.0f32; 16];
            self.store(&mut lanes);
            lanes.iter().sum()
        }
    }
}

#[cfg(not(all(
    target_arch = "x86_64",
    target_feature = "avx2",
    target_feature = "fma"
)))]
mod imp {
    /// Sixteen lanes as a plain array (no vector unit assumed).
    #[derive(Clone, Copy)]
    pub struct F32x16([f32; 16]);

    impl F32x16 {
        /// All lanes zero.
        #[inline(always)]
        pub fn zero() -> Self {
            F32x16([0.0; 16])
        }
        /// All lanes `v`.
        #[inline(always)]
        pub fn splat(v: f32) -> Self {
            F32x16([v; 16])
        }
        /// Lanes `s[0..16]`.
        #[inline(always)]
        pub fn load(s: &[f32]) -> Self {
            F32x16(s[..16].try_into().unwrap())
        }
        /// Writes the lanes to `d[0..16]`.
        #[inline(always)]
        pub fn store(self, d: &mut [f32]) {
            d[..16].copy_from_slice(&self.0);
        }
        /// `self · b + c` (fused where the CPU has FMA).
        #[inline(always)]
        pub fn mul_add(self, b: Self, c: Self) -> Self {
            F32x16(std::array::from_fn(|q| self.0[q] * b.0[q] + c.0[q]))
        }
        /// Sum of the lanes.
        #[inline(always)]
        pub fn sum(self) -> f32 {
            self.0.iter().sum()
        }
    }
}

pub use imp::F32x16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_compute_elementwise() {
        let a: Vec<f32> = (0..20).map(|q| q as f32 * 0.5).collect();
        let b: Vec<f32> = (0..20).map(|q| 3.0 - q as f32).collect();
        let r = F32x16::load(&a[2..]).mul_add(F32x16::load(&b[1..]), F32x16::splat(1.25));
        let mut out = [0.0f32; 16];
        r.store(&mut out);
        for q in 0..16 {
            assert_eq!(out[q], a[q + 2] * b[q + 1] + 1.25);
        }
        assert_eq!(r.sum(), out.iter().sum::<f32>());
        assert_eq!(F32x16::zero().sum(), 0.0);
    }
}
