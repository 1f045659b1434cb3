//! Losses on probes, as Keras defines them, and their gradients with respect to the probe's
//! samples. A loss is the mean over the batch and over every step the targets give (NengoDL
//! applies a probe's loss at every step of its targets).

use ndarray::{s, ArrayView1, ArrayView3, ArrayViewMut1, ArrayViewMut3};
use snn_runtime::Real;

/// The kinds of loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossKind {
    /// `mse`: the mean of `(y − t)²` over every element.
    Mse,
    /// `sparse_categorical_crossentropy`: integer labels, one per sample.
    SparseCategoricalCrossentropy,
    /// `categorical_crossentropy`: one-hot (or soft) targets.
    CategoricalCrossentropy,
}

impl LossKind {
    /// The kind named `name` on the command line.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "mse" | "mean_squared_error" => Self::Mse,
            "sparse_categorical_crossentropy" => Self::SparseCategoricalCrossentropy,
            "categorical_crossentropy" => Self::CategoricalCrossentropy,
            _ => return None,
        })
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mse => "mse",
            Self::SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
            Self::CategoricalCrossentropy => "categorical_crossentropy",
        }
    }

    /// Whether it classifies (accuracy is reported beside it).
    pub fn classifies(self) -> bool {
        !matches!(self, Self::Mse)
    }
}

/// A loss on one probe.
#[derive(Clone, Debug)]
pub struct Loss {
    /// Index of the probe in the program.
    pub probe: usize,
    /// The kind.
    pub kind: LossKind,
    /// `true`: the probe's values are probabilities (it reads a softmax), else logits, which
    /// the crossentropies turn into probabilities themselves (Keras's `from_logits=True`).
    pub probabilities: bool,
    /// Weight of this loss in the total.
    pub weight: f64,
    /// A constant target for every value (the L2 / firing-rate regulariser `l2(250)`: the
    /// mean square distance of a neuron probe from a target rate); no target array then.
    pub constant: Option<f64>,
}

/// Keras's `epsilon()`, with which crossentropies on probabilities clip.
const EPSILON: f64 = 1e-7;

/// The sum over `y`'s rows of the loss (divide by `denom_rows` for the batch mean) and the
/// number of correct argmax predictions (classification losses); when `grad` (shaped as `y`)
/// is given, the loss's weight times its gradient with respect to `y`, divided by
/// `denom_rows`, is added to it. `y` is `(rows, samples, size)`; `t` is `(rows, samples or 1,
/// size)` (labels: size 1); a target with one sample applies to every sample.
pub fn evaluate<T: Real>(
    loss: &Loss,
    y: ArrayView3<'_, T>,
    t: ArrayView3<'_, f64>,
    denom_rows: usize,
    mut grad: Option<ArrayViewMut3<'_, T>>,
) -> (f64, usize) {
    let (rows, samples, size) = y.dim();
    let mut total = 0.0;
    let mut correct = 0;
    let per = (denom_rows * samples).max(1) as f64;
    // A classification's one-hot target and one sample's gradient.
    let classifies = loss.kind.classifies();
    let mut g = vec![0.0; if classifies { size } else { 0 }];
    let mut target = g.clone();
    let mut yrow = g.clone();
    for b in 0..rows {
        for k in 0..samples {
            let tk = if t.shape()[1] == 1 { 0 } else { k };
            let yt = y.slice(s![b, k, ..]);
            let gr = grad.as_mut().map(|gr| gr.slice_mut(s![b, k, ..]));
            if !classifies {
                // mean of (y − t)², its gradient 2 (y − t) / size (per sample, per row)
                let n = size.max(1) as f64;
                let scale = loss.weight * 2.0 / (n * per);
                let sum = match loss.constant {
                    Some(c) => mse(yt, std::iter::repeat(c), gr, scale),
                    None => mse(yt, t.slice(s![b, tk, ..]).iter().copied(), gr, scale),
                };
                total += sum / n;
                continue;
            }
            yrow.iter_mut().zip(&yt).for_each(|(d, v)| *d = v.widen());
            let yv = &yrow;
            match (loss.constant, loss.kind) {
                (Some(c), _) => target.fill(c),
                (None, LossKind::SparseCategoricalCrossentropy) => {
                    target.fill(0.0);
                    let label = t.get((b, tk, 0)).copied().unwrap_or(0.0) as usize;
                    if let Some(v) = target.get_mut(label) {
                        *v = 1.0;
                    }
                }
                (None, _) => {
                    target.iter_mut().zip(t.slice(s![b, tk, ..])).for_each(|(d, &v)| *d = v)
                }
            }
            g.fill(0.0);
            let argmax = |v: &mut dyn Iterator<Item = f64>| {
                v.enumerate()
                    .fold((0, f64::NEG_INFINITY), |a, (i, x)| if x > a.1 { (i, x) } else { a })
                    .0
            };
            if argmax(&mut yv.iter().copied()) == argmax(&mut target.iter().copied()) {
                correct += 1;
            }
            if loss.probabilities {
                // Keras: probabilities normalised to sum 1, clipped to [ε, 1 − ε].
                let sum: f64 = yv.iter().sum();
                for (i, (&yi, &ti)) in yv.iter().zip(&target).enumerate() {
                    if ti == 0.0 {
                        continue;
                    }
                    let p = yi / sum;
                    let pc = p.clamp(EPSILON, 1.0 - EPSILON);
                    total -= ti * pc.ln();
                    if p > EPSILON && p < 1.0 - EPSILON {
                        // d(−t ln(y_i / Σy)) / dy_j = −t (δij / y_i − 1 / Σy)
                        for (j, gj) in g.iter_mut().enumerate() {
                            let delta = if i == j { 1.0 / yi } else { 0.0 };
                            *gj += -ti * (delta - 1.0 / sum) / per;
                        }
                    }
                }
            } else {
                let m = yv.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = yv.iter().map(|&v| (v - m).exp()).sum();
                let lse = m + z.ln();
                let tsum: f64 = target.iter().sum();
                for ((gi, &yi), &ti) in g.iter_mut().zip(yv).zip(&target) {
                    total -= ti * (yi - lse);
                    let p = (yi - lse).exp();
                    *gi = (p * tsum - ti) / per;
                }
            }
            if let Some(mut row) = gr {
                row.iter_mut().zip(&g).for_each(|(d, &v)| *d += T::cast(loss.weight * v));
            }
        }
    }
    (total / samples.max(1) as f64, correct)
}

/// `Σ (y − t)²` over one sample (summed in `f64`); `grad += scale (y − t)` when given.
fn mse<T: Real>(
    y: ArrayView1<'_, T>,
    t: impl Iterator<Item = f64>,
    grad: Option<ArrayViewMut1<'_, T>>,
    scale: f64,
) -> f64 {
    let mut sum = 0.0;
    match grad {
        Some(mut g) => {
            for ((gi, &yi), ti) in g.iter_mut().zip(&y).zip(t) {
                let d = yi.widen() - ti;
                sum += d * d;
                *gi += T::cast(scale * d);
            }
        }
        None => {
            for (&yi, ti) in y.iter().zip(t) {
                let d = yi.widen() - ti;
                sum += d * d;
            }
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    /// The gradient of each loss against central differences.
    #[test]
    fn gradients_match_finite_differences() {
        let y = Array3::from_shape_fn((2, 3, 4), |(b, k, i)| {
            0.1 + ((b * 7 + k * 3 + i * 5) % 11) as f64 / 10.0
        });
        let labels = Array3::from_shape_fn((2, 1, 1), |(b, _, _)| (b * 3 % 4) as f64);
        let onehot = Array3::from_shape_fn((2, 3, 4), |(b, k, i)| ((b + k) % 4 == i) as u8 as f64);
        let cases = [
            (LossKind::Mse, false, onehot.clone()),
            (LossKind::SparseCategoricalCrossentropy, false, labels.clone()),
            (LossKind::SparseCategoricalCrossentropy, true, labels),
            (LossKind::CategoricalCrossentropy, false, onehot.clone()),
            (LossKind::CategoricalCrossentropy, true, onehot),
        ];
        for (kind, probabilities, t) in cases {
            let loss = Loss { probe: 0, kind, probabilities, weight: 1.5, constant: None };
            // the weighted gradient is added to what the buffer holds
            let mut g = Array3::from_elem(y.raw_dim(), 0.25);
            evaluate(&loss, y.view(), t.view(), 2, Some(g.view_mut()));
            g -= 0.25;
            let h = 1e-6;
            for idx in ndarray::indices(y.raw_dim()) {
                let (mut yp, mut ym) = (y.clone(), y.clone());
                yp[idx] += h;
                ym[idx] -= h;
                let lp = 1.5 * evaluate(&loss, yp.view(), t.view(), 2, None).0 / 2.0;
                let lm = 1.5 * evaluate(&loss, ym.view(), t.view(), 2, None).0 / 2.0;
                let fd = (lp - lm) / (2.0 * h);
                assert!(
                    (fd - g[idx]).abs() < 1e-6,
                    "{kind:?} {probabilities} {idx:?}: {fd} vs {}",
                    g[idx]
                );
            }
        }
    }
}
