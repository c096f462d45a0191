//! Runtime CPU dispatch: one portable binary that runs its hot loops with AVX-512 or AVX2 + FMA
//! where the CPU has them (docs/design.md §4).
//!
//! A hot loop is written once, generic over a [`Lanes16`] type (sixteen `f32` lanes), inside
//! `multiversion!`. The macro compiles it three times: for AVX-512 (one 512-bit register per
//! [`Lanes16`]), for AVX2 + FMA (two 256-bit registers) and for any CPU (plain arrays), each
//! copy in a function with the matching `#[target_feature]`, so that LLVM also vectorises the
//! loop's plain code at that width. Each call picks the copy for [`level`], detected once.
//! Loops without explicit lanes are wrapped the same way for their auto-vectorised code.
//!
//! Results agree across levels up to float rounding: the AVX levels fuse multiply-adds, the
//! portable one rounds twice.
//!
//! Soundness: the lane types' methods are safe to call but execute AVX instructions, so they
//! must never run on a CPU without them. They are crate-internal (the whole `kernels` module
//! is), and inside the crate only the `multiversion!` copies compiled for a level, which run
//! where [`level`] detected it, name them. Code outside the crate cannot reach them:
//!
//! ```compile_fail,E0603
//! // error[E0603]: module `kernels` is private
//! let lanes = spikedelay::kernels::simd::Avx512x16::zero();
//! ```

use std::sync::OnceLock;

/// The instruction sets a multiversioned loop is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Any CPU: SSE2 on x86-64, or the target's baseline.
    Portable,
    /// AVX2 with FMA (x86-64 since 2013–2015).
    Avx2,
    /// AVX-512 F/VL/BW/DQ (x86-64 server CPUs, AMD Zen 4 and later).
    Avx512,
}

impl Level {
    /// The level's name, as `SPIKEDELAY_SIMD` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    /// The best level this CPU supports.
    pub fn detected() -> Level {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vl")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Level::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Level::Avx2;
            }
        }
        Level::Portable
    }
}

static LEVEL: OnceLock<Level> = OnceLock::new();

/// The level every multiversioned loop runs at: the CPU's best, or lower if the environment
/// variable `SPIKEDELAY_SIMD` (`portable`, `avx2`, `avx512`) asks for it. A request above what
/// the CPU supports is lowered to what it supports.
pub fn level() -> Level {
    *LEVEL.get_or_init(|| {
        let best = Level::detected();
        let asked = match std::env::var("SPIKEDELAY_SIMD").as_deref() {
            Ok("portable") => Level::Portable,
            Ok("avx2") => Level::Avx2,
            _ => best,
        };
        asked.min(best)
    })
}

/// Sixteen `f32` lanes: the register blocking of the kernels LLVM does not vectorise on its
/// own (narrow and low-rank convolutions).
///
/// # Safety
/// An implementation may use instructions the CPU lacks; it is only used by the copy of a
/// `multiversion!` loop that runs where [`level`] reports them.
pub unsafe trait Lanes16: Copy {
    /// All lanes zero.
    fn zero() -> Self;
    /// All lanes `v`.
    fn splat(v: f32) -> Self;
    /// Lanes `s[0..16]` (panics if `s` is shorter).
    fn load(s: &[f32]) -> Self;
    /// Writes the lanes to `d[0..16]` (panics if `d` is shorter).
    fn store(self, d: &mut [f32]);
    /// `self · b + c`: fused on the AVX levels, a multiply then an add on the portable one.
    fn mul_add(self, b: Self, c: Self) -> Self;
    /// Sum of the lanes.
    fn sum(self) -> f32;
}

/// Sixteen lanes as a plain array: any CPU.
#[derive(Clone, Copy)]
pub struct Portable16([f32; 16]);

// Safety: plain Rust, valid on every CPU.
unsafe impl Lanes16 for Portable16 {
    #[inline(always)]
    fn zero() -> Self {
        Portable16([0.0; 16])
    }
    #[inline(always)]
    fn splat(v: f32) -> Self {
        Portable16([v; 16])
    }
    #[inline(always)]
    fn load(s: &[f32]) -> Self {
        Portable16(s[..16].try_into().expect("16 lanes"))
    }
    #[inline(always)]
    fn store(self, d: &mut [f32]) {
        d[..16].copy_from_slice(&self.0);
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        Portable16(std::array::from_fn(|q| self.0[q] * b.0[q] + c.0[q]))
    }
    #[inline(always)]
    fn sum(self) -> f32 {
        self.0.iter().sum()
    }
}

#[cfg(target_arch = "x86_64")]
pub use x86::{Avx2x16, Avx512x16};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::Lanes16;

    /// Sixteen lanes in one AVX-512 register.
    #[derive(Clone, Copy)]
    pub struct Avx512x16(__m512);

    // Safety (every method): used only where `level()` is `Avx512` (trait contract).
    unsafe impl Lanes16 for Avx512x16 {
        #[inline(always)]
        fn zero() -> Self {
            unsafe { Avx512x16(_mm512_setzero_ps()) }
        }
        #[inline(always)]
        fn splat(v: f32) -> Self {
            unsafe { Avx512x16(_mm512_set1_ps(v)) }
        }
        #[inline(always)]
        fn load(s: &[f32]) -> Self {
            assert!(s.len() >= 16);
            // 16 readable values checked above; unaligned load.
            unsafe { Avx512x16(_mm512_loadu_ps(s.as_ptr())) }
        }
        #[inline(always)]
        fn store(self, d: &mut [f32]) {
            assert!(d.len() >= 16);
            // 16 writable values checked above; unaligned store.
            unsafe { _mm512_storeu_ps(d.as_mut_ptr(), self.0) }
        }
        #[inline(always)]
        fn mul_add(self, b: Self, c: Self) -> Self {
            unsafe { Avx512x16(_mm512_fmadd_ps(self.0, b.0, c.0)) }
        }
        #[inline(always)]
        fn sum(self) -> f32 {
            unsafe { _mm512_reduce_add_ps(self.0) }
        }
    }

    /// Sixteen lanes in two AVX registers.
    #[derive(Clone, Copy)]
    pub struct Avx2x16(__m256, __m256);

    // Safety (every method): used only where `level()` is `Avx2` or above (trait contract).
    unsafe impl Lanes16 for Avx2x16 {
        #[inline(always)]
        fn zero() -> Self {
            unsafe { Avx2x16(_mm256_setzero_ps(), _mm256_setzero_ps()) }
        }
        #[inline(always)]
        fn splat(v: f32) -> Self {
            unsafe { Avx2x16(_mm256_set1_ps(v), _mm256_set1_ps(v)) }
        }
        #[inline(always)]
        fn load(s: &[f32]) -> Self {
            assert!(s.len() >= 16);
            // 16 readable values checked above; unaligned loads.
            unsafe {
                Avx2x16(
                    _mm256_loadu_ps(s.as_ptr()),
                    _mm256_loadu_ps(s.as_ptr().add(8)),
                )
            }
        }
        #[inline(always)]
        fn store(self, d: &mut [f32]) {
            assert!(d.len() >= 16);
            // 16 writable values checked above; unaligned stores.
            unsafe {
                _mm256_storeu_ps(d.as_mut_ptr(), self.0);
                _mm256_storeu_ps(d.as_mut_ptr().add(8), self.1);
            }
        }
        #[inline(always)]
        fn mul_add(self, b: Self, c: Self) -> Self {
            unsafe {
                Avx2x16(
                    _mm256_fmadd_ps(self.0, b.0, c.0),
                    _mm256_fmadd_ps(self.1, b.1, c.1),
                )
            }
        }
        #[inline(always)]
        fn sum(self) -> f32 {
            let mut lanes = [0.0f32; 16];
            self.store(&mut lanes);
            lanes.iter().sum()
        }
    }
}

/// Defines a function whose body is compiled for every [`Level`] and run at [`level`].
///
/// ```text
/// multiversion! {
///     /// Doc comment.
///     fn name<V, const N: usize>(a: &[f32], out: &mut [f32]) -> f32 { /* V: Lanes16 */ }
/// }
/// ```
/// The first generic parameter names the [`Lanes16`] type inside the body (unused where the
/// loop has no explicit lanes); `const` parameters follow. The body may use the module's items
/// but, being an inner function, not its caller's generics.
macro_rules! multiversion {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident < $lanes:ident $(, const $c:ident : $ct:ty)* $(,)? >
        ( $($arg:ident : $ty:ty),* $(,)? ) $(-> $ret:ty)? $body:block
    ) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name<$(const $c: $ct),*>($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            #[allow(clippy::too_many_arguments, clippy::extra_unused_type_parameters)]
            fn body<$lanes: $crate::kernels::simd::Lanes16, $(const $c: $ct),*>(
                $($arg: $ty),*
            ) $(-> $ret)? $body

            match $crate::kernels::simd::level() {
                #[cfg(target_arch = "x86_64")]
                $crate::kernels::simd::Level::Avx512 => {
                    #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
                    #[allow(clippy::too_many_arguments)]
                    unsafe fn avx512<$(const $c: $ct),*>($($arg: $ty),*) $(-> $ret)? {
                        body::<$crate::kernels::simd::Avx512x16, $($c),*>($($arg),*)
                    }
                    // Safety: `level()` is `Avx512` only where the CPU has these features.
                    unsafe { avx512::<$($c),*>($($arg),*) }
                }
                #[cfg(target_arch = "x86_64")]
                $crate::kernels::simd::Level::Avx2 => {
                    #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
                    #[allow(clippy::too_many_arguments)]
                    unsafe fn avx2<$(const $c: $ct),*>($($arg: $ty),*) $(-> $ret)? {
                        body::<$crate::kernels::simd::Avx2x16, $($c),*>($($arg),*)
                    }
                    // Safety: `level()` is `Avx2` only where the CPU has these features.
                    unsafe { avx2::<$($c),*>($($arg),*) }
                }
                _ => body::<$crate::kernels::simd::Portable16, $($c),*>($($arg),*),
            }
        }
    };
}
pub(crate) use multiversion;

#[cfg(test)]
mod tests {
    use super::*;

    fn lanes_compute_elementwise<V: Lanes16>() {
        let a: Vec<f32> = (0..20).map(|q| q as f32 * 0.5).collect();
        let b: Vec<f32> = (0..20).map(|q| 3.0 - q as f32).collect();
        let r = V::load(&a[2..]).mul_add(V::load(&b[1..]), V::splat(1.25));
        let mut out = [0.0f32; 16];
        r.store(&mut out);
        for q in 0..16 {
            // exact in both roundings: small integers and halves
            assert_eq!(out[q], a[q + 2] * b[q + 1] + 1.25);
        }
        assert_eq!(r.sum(), out.iter().sum::<f32>());
        assert_eq!(V::zero().sum(), 0.0);
    }

    #[test]
    fn every_supported_level_computes_the_same_lanes() {
        lanes_compute_elementwise::<Portable16>();
        #[cfg(target_arch = "x86_64")]
        {
            if Level::detected() >= Level::Avx2 {
                lanes_compute_elementwise::<Avx2x16>();
            }
            if Level::detected() >= Level::Avx512 {
                lanes_compute_elementwise::<Avx512x16>();
            }
        }
    }

    multiversion! {
        /// `Σ a_i b_i` in lanes of 16, the rest serially.
        fn dot16<V>(a: &[f32], b: &[f32]) -> f32 {
            let mut acc = V::zero();
            let full = a.len() / 16 * 16;
            for i in (0..full).step_by(16) {
                acc = V::load(&a[i..]).mul_add(V::load(&b[i..]), acc);
            }
            acc.sum() + (full..a.len()).map(|i| a[i] * b[i]).sum::<f32>()
        }
    }

    #[test]
    fn a_multiversioned_loop_runs_at_the_detected_level() {
        assert!(level() <= Level::detected());
        let a: Vec<f32> = (0..37).map(|i| i as f32).collect();
        let b = vec![2.0f32; 37];
        assert_eq!(dot16(&a, &b), 2.0 * (36.0 * 37.0 / 2.0));
    }
}
