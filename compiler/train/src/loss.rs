//! Losses on probes, as Keras defines them, and their gradients with respect to the probe's
//! samples. A loss is the mean over the batch and over every step the targets give (NengoDL
//! applies a probe's loss at every step of its targets).

use ndarray::{s, Array3, ArrayView3};

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

/// The sum over `y`'s rows of the loss (divide by `denom_rows` for the batch mean), its
/// gradient with respect to `y` divided by `denom_rows`, and the number of correct argmax
/// predictions (classification losses). `y` is `(rows, samples, size)`; `t` is
/// `(rows, samples or 1, size)` (labels: size 1); a target with one sample applies to every
/// sample.
pub fn evaluate(
    loss: &Loss,
    y: ArrayView3<'_, f64>,
    t: ArrayView3<'_, f64>,
    denom_rows: usize,
) -> (f64, Array3<f64>, usize) {
    let (rows, samples, size) = y.dim();
    let mut grad = Array3::zeros(y.raw_dim());
    let mut total = 0.0;
    let mut correct = 0;
    let per = (denom_rows * samples).max(1) as f64;
    for b in 0..rows {
        for k in 0..samples {
            let tk = if t.shape()[1] == 1 { 0 } else { k };
            let yv = y.slice(s![b, k, ..]);
            let tv = match loss.constant {
                Some(c) => ndarray::Array1::from_elem(size, c),
                None => t.slice(s![b, tk, ..]).to_owned(),
            };
            let mut g = grad.slice_mut(s![b, k, ..]);
            match loss.kind {
                LossKind::Mse => {
                    let n = size.max(1) as f64;
                    for ((gi, &yi), &ti) in g.iter_mut().zip(&yv).zip(&tv) {
                        let d = yi - ti;
                        total += d * d / n;
                        *gi = 2.0 * d / n / per;
                    }
                }
                LossKind::SparseCategoricalCrossentropy | LossKind::CategoricalCrossentropy => {
                    let target: Vec<f64> = if loss.kind == LossKind::SparseCategoricalCrossentropy {
                        let mut one = vec![0.0; size];
                        let label = tv.first().copied().unwrap_or(0.0) as usize;
                        if let Some(v) = one.get_mut(label) {
                            *v = 1.0;
                        }
                        one
                    } else {
                        tv.to_vec()
                    };
                    let argmax = |v: &[f64]| {
                        v.iter()
                            .enumerate()
                            .fold(
                                (0, f64::NEG_INFINITY),
                                |a, (i, &x)| if x > a.1 { (i, x) } else { a },
                            )
                            .0
                    };
                    let yvec = yv.to_vec();
                    if argmax(&yvec) == argmax(&target) {
                        correct += 1;
                    }
                    if loss.probabilities {
                        // Keras: probabilities normalised to sum 1, clipped to [ε, 1 − ε].
                        let sum: f64 = yvec.iter().sum();
                        for (i, (&yi, &ti)) in yvec.iter().zip(&target).enumerate() {
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
                        let m = yvec.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        let z: f64 = yvec.iter().map(|&v| (v - m).exp()).sum();
                        let lse = m + z.ln();
                        let tsum: f64 = target.iter().sum();
                        for ((gi, &yi), &ti) in g.iter_mut().zip(&yvec).zip(&target) {
                            total -= ti * (yi - lse);
                            let p = (yi - lse).exp();
                            *gi = (p * tsum - ti) / per;
                        }
                    }
                }
            }
        }
    }
    (total / samples.max(1) as f64, grad, correct)
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
            let loss = Loss { probe: 0, kind, probabilities, weight: 1.0, constant: None };
            let (_, g, _) = evaluate(&loss, y.view(), t.view(), 2);
            let h = 1e-6;
            for idx in ndarray::indices(y.raw_dim()) {
                let (mut yp, mut ym) = (y.clone(), y.clone());
                yp[idx] += h;
                ym[idx] -= h;
                let lp = evaluate(&loss, yp.view(), t.view(), 2).0 / 2.0;
                let lm = evaluate(&loss, ym.view(), t.view(), 2).0 / 2.0;
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
