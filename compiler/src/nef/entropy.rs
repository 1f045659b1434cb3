//! Sources of randomness for the NEF samplers: any `rand` RNG, or pinned values for replay.

use ndarray::Array2;
use rand::Rng;
use rand_distr::{Beta, Distribution, StandardNormal};
use std::collections::VecDeque;

use super::special::betaincinv;

/// What the samplers draw from. Implemented for every [`rand::Rng`] (e.g. `ChaCha8Rng`)
/// and for [`PinnedEntropy`], which replays given values like a pinned NumPy `RandomState`.
pub trait Entropy {
    /// One uniform draw from `[0, 1)` (NumPy's `random_sample`).
    fn next_uniform(&mut self) -> f64;
    /// One standard-normal draw (NumPy's `standard_normal`).
    fn next_standard_normal(&mut self) -> f64;
    /// One Beta(a, b) draw; by default the inverse CDF of a uniform draw.
    fn next_beta(&mut self, a: f64, b: f64) -> f64 {
        let u = self.next_uniform();
        betaincinv(a, b, u)
    }
    /// Shuffle the rows of `a` in place (NumPy's `rng.shuffle` on a 2-D array).
    fn shuffle_rows(&mut self, a: &mut Array2<f64>) {
        // Fisher-Yates driven by uniform draws.
        let n = a.nrows();
        for i in (1..n).rev() {
            let j = ((self.next_uniform() * (i + 1) as f64) as usize).min(i);
            if i != j {
                for k in 0..a.ncols() {
                    a.swap((i, k), (j, k));
                }
            }
        }
    }
    /// `n` uniform draws.
    fn uniforms(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.next_uniform()).collect()
    }
    /// `n` standard-normal draws.
    fn standard_normals(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.next_standard_normal()).collect()
    }
}

impl<R: Rng + ?Sized> Entropy for R {
    fn next_uniform(&mut self) -> f64 {
        self.gen::<f64>()
    }

    fn next_standard_normal(&mut self) -> f64 {
        StandardNormal.sample(self)
    }

    fn next_beta(&mut self, a: f64, b: f64) -> f64 {
        match Beta::new(a, b) {
            Ok(beta) => beta.sample(self),
            Err(_) => {
                let u = self.gen::<f64>();
                betaincinv(a, b, u)
            }
        }
    }

    fn shuffle_rows(&mut self, a: &mut Array2<f64>) {
        let n = a.nrows();
        for i in (1..n).rev() {
            let j = self.gen_range(0..=i);
            if i != j {
                for k in 0..a.ncols() {
                    a.swap((i, k), (j, k));
                }
            }
        }
    }
}

/// Replays given uniform and normal draws in order and never shuffles, so a Nengo run whose
/// random quantities were recorded (offsets, rotation matrices) can be reproduced exactly.
///
/// Drawing past the end yields NaN and is reported by [`PinnedEntropy::finish`].
#[derive(Debug, Clone, Default)]
pub struct PinnedEntropy {
    uniforms: VecDeque<f64>,
    normals: VecDeque<f64>,
    overdrawn: usize,
}

impl PinnedEntropy {
    /// A source that hands out `uniforms` and `normals` (each in the given order).
    pub fn new(uniforms: &[f64], normals: &[f64]) -> Self {
        Self {
            uniforms: uniforms.iter().copied().collect(),
            normals: normals.iter().copied().collect(),
            overdrawn: 0,
        }
    }

    /// Ok if every pinned value was used and none was missing.
    pub fn finish(&self) -> Result<(), super::NefError> {
        if self.overdrawn > 0 {
            return Err(super::NefError::Pinned(format!(
                "{} more values were drawn than were pinned",
                self.overdrawn
            )));
        }
        if !self.uniforms.is_empty() || !self.normals.is_empty() {
            return Err(super::NefError::Pinned(format!(
                "{} uniform and {} normal values left unused",
                self.uniforms.len(),
                self.normals.len()
            )));
        }
        Ok(())
    }
}

impl Entropy for PinnedEntropy {
    fn next_uniform(&mut self) -> f64 {
        self.uniforms.pop_front().unwrap_or_else(|| {
            self.overdrawn += 1;
            f64::NAN
        })
    }

    fn next_standard_normal(&mut self) -> f64 {
        self.normals.pop_front().unwrap_or_else(|| {
            self.overdrawn += 1;
            f64::NAN
        })
    }

    fn shuffle_rows(&mut self, _a: &mut Array2<f64>) {}
}
