//! The derivative of each neuron type's rate equivalent with respect to its input current: what
//! training needs, since spiking types train through their rate equivalents as NengoDL trains
//! them (`SpikingRectifiedLinear` as `RectifiedLinear`, `LIF` as `LIFRate`).

use super::NeuronType;
use crate::Real;

impl NeuronType {
    /// `d rate(j) / d j`, the exact derivative of [`NeuronType::rate`] (at a kink, the
    /// right-hand one except at the LIF threshold, where the rate's slope is infinite and 0 is
    /// used, as TensorFlow's gradient of NengoDL's `LIFRate` gives); `None` for types whose rate
    /// depends on a state (adaptation, Izhikevich), which cannot be trained here.
    pub fn rate_derivative(&self, j: f64) -> Option<f64> {
        let relu = |amplitude: f64| relu_slope(amplitude, j);
        let leaky = |amplitude: f64, slope: f64| amplitude * if j < 0.0 { slope } else { 1.0 };
        Some(match self {
            Self::RectifiedLinear(n) => relu(n.amplitude),
            Self::SpikingRectifiedLinear(n) => relu(n.amplitude),
            Self::LeakyRelu(n) => leaky(n.amplitude, n.negative_slope),
            Self::SpikingLeakyRelu(n) => leaky(n.amplitude, n.negative_slope),
            Self::Sigmoid(n) => {
                let s = 1.0 / (1.0 + (-j).exp());
                s * (1.0 - s) / n.tau_ref
            }
            Self::Tanh(n) => {
                let t = j.tanh();
                (1.0 - t * t) / n.tau_ref
            }
            Self::LifRate(n) => lif_rate_derivative(n.tau_rc, n.tau_ref, n.amplitude, j),
            Self::Lif(n) => {
                let r = n.as_rate();
                lif_rate_derivative(r.tau_rc, r.tau_ref, r.amplitude, j)
            }
            Self::RegularSpiking(n) => n.base.rate_derivative(j)?,
            Self::StochasticSpiking(n) => n.base.rate_derivative(j)?,
            Self::PoissonSpiking(n) => n.base.rate_derivative(j)?,
            Self::AdaptiveLifRate(_) | Self::AdaptiveLif(_) | Self::Izhikevich(_) => return None,
        })
    }
}

impl NeuronType {
    /// The rate a type trains with: its rate equivalent, or for `LIF` with `lif_smoothing`
    /// = Some(sigma), NengoDL's `SoftLIFRate` (its `configure_settings(lif_smoothing=…)`).
    pub fn training_rate(&self, j: f64, lif_smoothing: Option<f64>) -> f64 {
        match (self, lif_smoothing) {
            (Self::Lif(n), Some(sigma)) => {
                let r = n.as_rate();
                soft_lif(r.tau_rc, r.tau_ref, r.amplitude, sigma, j).0
            }
            _ => self.rate(j),
        }
    }

    /// [`NeuronType::training_rate`] of each current in `j`, into `out` (the type matched once;
    /// in `T`, the others computed in `f64`).
    pub fn training_rates<T: Real>(&self, j: &[T], out: &mut [T], lif_smoothing: Option<f64>) {
        match self {
            Self::RectifiedLinear(n) => each(j, out, |x| n.rate(x)),
            Self::SpikingRectifiedLinear(n) => {
                let amplitude = T::cast(n.amplitude);
                each(j, out, |x| amplitude * super::rectified_linear::relu(x))
            }
            _ => each(j, out, |x| T::cast(self.training_rate(x.widen(), lif_smoothing))),
        }
    }

    /// `adj += training_rate'(j) * g` for each current in `j` (the type matched once; 0 where
    /// the type has no derivative).
    pub fn add_training_gradient<T: Real>(
        &self,
        j: &[T],
        g: &[T],
        adj: &mut [T],
        lif_smoothing: Option<f64>,
    ) {
        let relu = |amplitude: f64| {
            let a = T::cast(amplitude);
            move |x: T| if x > T::zero() { a } else { T::zero() }
        };
        match self {
            Self::RectifiedLinear(n) => add_each(j, g, adj, relu(n.amplitude)),
            Self::SpikingRectifiedLinear(n) => add_each(j, g, adj, relu(n.amplitude)),
            _ => add_each(j, g, adj, |x| {
                T::cast(self.training_rate_derivative(x.widen(), lif_smoothing).unwrap_or(0.0))
            }),
        }
    }

    /// `d training_rate(j) / d j` (see [`NeuronType::training_rate`]); `None` as
    /// [`NeuronType::rate_derivative`].
    pub fn training_rate_derivative(&self, j: f64, lif_smoothing: Option<f64>) -> Option<f64> {
        match (self, lif_smoothing) {
            (Self::Lif(n), Some(sigma)) => {
                let r = n.as_rate();
                Some(soft_lif(r.tau_rc, r.tau_ref, r.amplitude, sigma, j).1)
            }
            _ => self.rate_derivative(j),
        }
    }
}

/// The slope of `amplitude * max(j, 0)`: 0 at `j = 0`, as TensorFlow's gradient of `relu`.
fn relu_slope(amplitude: f64, j: f64) -> f64 {
    if j > 0.0 {
        amplitude
    } else {
        0.0
    }
}

/// `out[i] = f(j[i])`.
fn each<T: Real>(j: &[T], out: &mut [T], f: impl Fn(T) -> T) {
    out.iter_mut().zip(j).for_each(|(o, &x)| *o = f(x));
}

/// `adj[i] += f(j[i]) * g[i]`.
fn add_each<T: Real>(j: &[T], g: &[T], adj: &mut [T], f: impl Fn(T) -> T) {
    adj.iter_mut().zip(j).zip(g).for_each(|((a, &x), &gv)| *a += f(x) * gv);
}

/// NengoDL's `SoftLIFRate` (Hunsberger & Eliasmith 2015): the LIF rate with the threshold
/// smoothed by a softplus of width `sigma`, and its derivative: `(rate, d rate / d j)`.
fn soft_lif(tau_rc: f64, tau_ref: f64, amplitude: f64, sigma: f64, j: f64) -> (f64, f64) {
    let js = (j - 1.0) / sigma;
    if js > -20.0 {
        let softplus = if js > 30.0 { js } else { js.exp().ln_1p() };
        let z = softplus * sigma;
        let den = tau_ref + tau_rc * (1.0 / z).ln_1p();
        let sig = 1.0 / (1.0 + (-js).exp());
        (amplitude / den, amplitude * tau_rc * sig / (den * den * z * (z + 1.0)))
    } else {
        // as z -> 0: log(1 + 1/z) -> -js - log(sigma)
        let den = tau_ref + tau_rc * (-js - sigma.ln());
        (amplitude / den, amplitude * tau_rc / (den * den * sigma))
    }
}

/// `d/dj amplitude / (tau_ref + tau_rc ln(1 + 1/(j - 1)))` for `j > 1` (0 below).
fn lif_rate_derivative(tau_rc: f64, tau_ref: f64, amplitude: f64, j: f64) -> f64 {
    let x = j - 1.0;
    if x <= 0.0 {
        return 0.0;
    }
    let den = tau_ref + tau_rc * (1.0 / x).ln_1p();
    amplitude * tau_rc / (den * den * x * j)
}

#[cfg(test)]
mod tests {
    use super::NeuronType;
    use crate::neurons::{Lif, LifRate, RectifiedLinear, Sigmoid, Tanh};

    #[test]
    fn derivatives_match_finite_differences() {
        let types = [
            NeuronType::LifRate(LifRate { tau_rc: 0.02, tau_ref: 0.002, amplitude: 0.5 }),
            NeuronType::RectifiedLinear(RectifiedLinear { amplitude: 2.0 }),
            NeuronType::Sigmoid(Sigmoid { tau_ref: 0.0025 }),
            NeuronType::Tanh(Tanh { tau_ref: 0.0025 }),
        ];
        for t in &types {
            for &j in &[-1.5, 0.3, 1.2, 2.0, 7.5] {
                let h = 1e-6;
                let fd = (t.rate(j + h) - t.rate(j - h)) / (2.0 * h);
                let d = t.rate_derivative(j).expect("derivative");
                assert!((fd - d).abs() <= 1e-5 * (1.0 + fd.abs()), "{t:?} at {j}: {fd} vs {d}");
            }
        }
    }

    const NENGO_DL_SOFT_LIF: [f64; 9] = [
        0.39813261673464456,
        1.954170278850152,
        10.37375643083669,
        17.030195193869005,
        17.155914625991812,
        19.83825621079344,
        32.77164409488205,
        102.83799105620828,
        199.49279677102282,
    ];

    /// `nengo_dl.SoftLIFRate(sigma=0.5, tau_rc=0.02, tau_ref=0.002, amplitude=0.5).step` at
    /// these currents, computed by NengoDL 3.6 (numpy); and the derivative by differences.
    #[test]
    fn soft_lif_matches_nengo_dl() {
        let lif =
            NeuronType::Lif(Lif { tau_rc: 0.02, tau_ref: 0.002, min_voltage: 0.0, amplitude: 0.5 });
        let js = [-30.0, -5.0, 0.3, 0.99, 1.0, 1.2, 2.0, 7.5, 40.0];
        let nengo_dl = NENGO_DL_SOFT_LIF;
        for (&j, &want) in js.iter().zip(&nengo_dl) {
            let got = lif.training_rate(j, Some(0.5));
            assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "at {j}: {got} vs {want}");
            let h = 1e-6;
            let fd = (lif.training_rate(j + h, Some(0.5)) - lif.training_rate(j - h, Some(0.5)))
                / (2.0 * h);
            let d = lif.training_rate_derivative(j, Some(0.5)).expect("derivative");
            assert!((fd - d).abs() <= 1e-5 * (1.0 + fd.abs()), "at {j}: {fd} vs {d}");
        }
        // without smoothing, LIF trains as LIFRate
        assert_eq!(lif.training_rate(2.0, None), lif.rate(2.0));
    }
}
