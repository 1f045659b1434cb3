//! `LIF`: the spiking leaky integrate-and-fire neuron with Nengo's exact update: exponential
//! integration over the non-refractory part of the step, the spike time interpolated inside the
//! step, and the refractory period counted from that time.

use num_traits::Float;
use serde::{Deserialize, Serialize};

use super::{lit, LifRate};

/// Nengo's `LIF(tau_rc=0.02, tau_ref=0.002, min_voltage=0, amplitude=1)`; rates and gain/bias
/// are LIFRate's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Lif {
    /// Membrane RC time constant (s).
    pub tau_rc: f64,
    /// Absolute refractory period (s).
    pub tau_ref: f64,
    /// Floor for the voltage (`-inf` for none).
    pub min_voltage: f64,
    /// Spike height is `amplitude / dt`.
    pub amplitude: f64,
}

impl Default for Lif {
    fn default() -> Self {
        Self { tau_rc: 0.02, tau_ref: 0.002, min_voltage: 0.0, amplitude: 1.0 }
    }
}

/// One LIF neuron for one step: updates `v` and `rt`, returns whether it spiked.
#[inline]
pub(crate) fn lif_update<T: Float>(
    dt: T,
    tau_rc: T,
    tau_ref: T,
    min_voltage: T,
    j: T,
    v: &mut T,
    rt: &mut T,
) -> bool {
    *rt = *rt - dt;
    // Only the part of the step after the refractory period integrates (0 <= delta_t <= dt).
    let delta_t = (dt - *rt).max(T::zero()).min(dt);
    *v = *v - (j - *v) * (-delta_t / tau_rc).exp_m1();
    let spiked = *v > T::one();
    if spiked {
        let t_spike = dt + tau_rc * (-(*v - T::one()) / (j - T::one())).ln_1p();
        *v = T::zero();
        *rt = tau_ref + t_spike;
    } else if *v < min_voltage {
        *v = min_voltage;
    }
    spiked
}

impl Lif {
    /// The LIFRate with the same parameters (its rate curve and gain/bias).
    pub fn as_rate(&self) -> LifRate {
        LifRate { tau_rc: self.tau_rc, tau_ref: self.tau_ref, amplitude: self.amplitude }
    }

    /// One step: `out` is `amplitude / dt` where a neuron spiked, else 0.
    pub fn step<T: Float>(
        &self,
        dt: T,
        j: &[T],
        out: &mut [T],
        voltage: &mut [T],
        refractory_time: &mut [T],
    ) {
        let (tau_rc, tau_ref, min_v) =
            (lit::<T>(self.tau_rc), lit::<T>(self.tau_ref), lit::<T>(self.min_voltage));
        let height = lit::<T>(self.amplitude) / dt;
        for (((o, &j), v), rt) in
            out.iter_mut().zip(j).zip(voltage.iter_mut()).zip(refractory_time.iter_mut())
        {
            let spiked = lif_update(dt, tau_rc, tau_ref, min_v, j, v, rt);
            *o = if spiked { height } else { T::zero() };
        }
    }
}
