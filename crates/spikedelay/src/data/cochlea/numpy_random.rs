//! NumPy's legacy global generator (`np.random.seed(S)`, then `np.random.rand`), reproduced so
//! the `exact` sampler draws what `lauscher` draws (docs/cochlea.md §5): MT19937 seeded by
//! Matsumoto and Nishimura's `init_genrand(S)` (the `rand_mt` crate), and each double made from
//! two 32-bit outputs as `((a >> 5)·2²⁶ + (b >> 6)) / 2⁵³`.

use rand_mt::Mt;

/// The generator behind `np.random.rand` after `np.random.seed(seed)`.
pub struct NumpyLegacy {
    mt: Mt,
}

impl NumpyLegacy {
    /// `np.random.seed(seed)` (NumPy accepts 0 ..= 2³² − 1).
    pub fn new(seed: u32) -> Self {
        NumpyLegacy { mt: Mt::new(seed) }
    }

    /// The next `np.random.rand()` value, uniform in [0, 1) with 53 random bits.
    #[inline]
    pub fn next_double(&mut self) -> f64 {
        let a = (self.mt.next_u32() >> 5) as f64;
        let b = (self.mt.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_what_numpy_draws() {
        // python -c "import numpy as np; np.random.seed(S); print(repr(np.random.rand(3)))"
        let expect: [(u32, [f64; 3]); 2] = [
            (
                0,
                [0.5488135039273248, 0.7151893663724195, 0.6027633760716439],
            ),
            (
                1234,
                [0.1915194503788923, 0.6221087710398319, 0.4377277390071145],
            ),
        ];
        for (seed, values) in expect {
            let mut g = NumpyLegacy::new(seed);
            for v in values {
                assert_eq!(g.next_double(), v, "seed {seed}");
            }
        }
    }
}
