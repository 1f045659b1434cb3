//! Keras's optimisers (the TensorFlow 2.12 / Keras 3 update rules and default epsilons).

use ndarray::ArrayD;

/// The kinds of optimiser.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// `v = momentum v − lr g; w += v` (Keras `SGD`, not Nesterov).
    Sgd {
        /// Momentum (Keras default 0).
        momentum: f64,
    },
    /// Keras `Adam` (β1 0.9, β2 0.999, ε 1e-7).
    Adam,
    /// Keras `RMSprop` (ρ 0.9, ε 1e-7, no momentum, not centred):
    /// `v = ρ v + (1 − ρ) g²; w −= lr g / (√v + ε)`.
    RmsProp,
}

impl OptimizerKind {
    /// The kind named `name` on the command line.
    pub fn parse(name: &str, momentum: f64) -> Option<Self> {
        Some(match name {
            "sgd" => Self::Sgd { momentum },
            "adam" => Self::Adam,
            "rmsprop" => Self::RmsProp,
            _ => return None,
        })
    }
}

/// An optimiser with its per-parameter state.
#[derive(Clone, Debug)]
pub struct Optimizer {
    kind: OptimizerKind,
    lr: f64,
    /// Updates applied so far.
    iterations: u64,
    /// First slot per parameter (velocity, Adam's m, RMSprop's mean square).
    m: Vec<ArrayD<f64>>,
    /// Second slot (Adam's v).
    v: Vec<ArrayD<f64>>,
}

const BETA_1: f64 = 0.9;
const BETA_2: f64 = 0.999;
const RHO: f64 = 0.9;
const EPSILON: f64 = 1e-7;

impl Optimizer {
    /// An optimiser of `kind` with learning rate `lr` for parameters shaped as `params`.
    pub fn new(kind: OptimizerKind, lr: f64, params: &[ArrayD<f64>]) -> Self {
        let zeros = || params.iter().map(|p| ArrayD::zeros(p.raw_dim())).collect();
        Self { kind, lr, iterations: 0, m: zeros(), v: zeros() }
    }

    /// Applies one update with gradients `grads` to `params`.
    pub fn step(&mut self, params: &mut [ArrayD<f64>], grads: &[ArrayD<f64>]) {
        self.iterations += 1;
        let t = self.iterations as f64;
        let lr = self.lr;
        for (i, (w, g)) in params.iter_mut().zip(grads).enumerate() {
            match self.kind {
                OptimizerKind::Sgd { momentum } => {
                    if momentum == 0.0 {
                        w.zip_mut_with(g, |w, &g| *w -= lr * g);
                    } else {
                        let v = &mut self.m[i];
                        v.zip_mut_with(g, |v, &g| *v = momentum * *v - lr * g);
                        *w += &*v;
                    }
                }
                OptimizerKind::Adam => {
                    let alpha = lr * (1.0 - BETA_2.powf(t)).sqrt() / (1.0 - BETA_1.powf(t));
                    let (m, v) = (&mut self.m[i], &mut self.v[i]);
                    ndarray::Zip::from(w).and(m).and(v).and(g).for_each(|w, m, v, &g| {
                        *m += (g - *m) * (1.0 - BETA_1);
                        *v += (g * g - *v) * (1.0 - BETA_2);
                        *w -= alpha * *m / (v.sqrt() + EPSILON);
                    });
                }
                OptimizerKind::RmsProp => {
                    let ms = &mut self.m[i];
                    ndarray::Zip::from(w).and(ms).and(g).for_each(|w, ms, &g| {
                        *ms = RHO * *ms + (1.0 - RHO) * g * g;
                        *w -= lr * g / (ms.sqrt() + EPSILON);
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr1;

    /// One and two steps of each rule, computed by hand from Keras's update equations.
    #[test]
    fn updates_follow_keras() {
        let g = vec![arr1(&[0.5, -2.0]).into_dyn()];
        let run = |kind, steps| {
            let mut w = vec![arr1(&[1.0, 1.0]).into_dyn()];
            let mut o = Optimizer::new(kind, 0.1, &w);
            for _ in 0..steps {
                o.step(&mut w, &g);
            }
            w[0].clone()
        };
        let sgd = run(OptimizerKind::Sgd { momentum: 0.9 }, 2);
        // v1 = -0.05, w1 = 0.95; v2 = 0.9 * -0.05 - 0.05 = -0.095, w2 = 0.855
        assert!((sgd[0] - 0.855).abs() < 1e-12, "{sgd}");
        let rms = run(OptimizerKind::RmsProp, 1);
        // ms = 0.1 * 0.25 = 0.025; w = 1 - 0.1 * 0.5 / (0.158113883 + 1e-7)
        let want = 1.0 - 0.1 * 0.5 / (0.025f64.sqrt() + 1e-7);
        assert!((rms[0] - want).abs() < 1e-12, "{rms}");
        let adam = run(OptimizerKind::Adam, 1);
        // step 1: alpha = 0.1 * sqrt(0.001) / 0.1; m = 0.05; v = 0.00025
        let alpha = 0.1 * 0.001f64.sqrt() / 0.1;
        let want = 1.0 - alpha * 0.05 / (0.00025f64.sqrt() + 1e-7);
        assert!((adam[0] - want).abs() < 1e-12, "{adam}");
    }
}
