//! The derivative of each neuron type's rate equivalent with respect to its input current: what
//! training needs, since spiking types train through their rate equivalents as NengoDL trains
//! them (`SpikingRectifiedLinear` as `RectifiedLinear`, `LIF` as `LIFRate`).

use super::NeuronType;

impl NeuronType {
    /// `d rate(j) / d j`, the exact derivative of [`NeuronType::rate`] (at a kink, the
    /// right-hand one except at the LIF threshold, where the rate's slope is infinite and 0 is
    /// used, as TensorFlow's gradient of NengoDL's `LIFRate` gives); `None` for types whose rate
    /// depends on a state (adaptation, Izhikevich), which cannot be trained here.
    pub fn rate_derivative(&self, j: f64) -> Option<f64> {
        let relu = |amplitude: f64| if j > 0.0 { amplitude } else { 0.0 };
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
    use crate::neurons::{LifRate, RectifiedLinear, Sigmoid, Tanh};

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
}
