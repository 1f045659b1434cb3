//! `Izhikevich`: the two-variable spiking model (voltage in mV, recovery `u`), integrated with
//! forward Euler; the spike reset happens before the recovery update, as in Nengo.

use num_traits::Float;
use serde::{Deserialize, Serialize};

use super::lit;

/// Nengo's `Izhikevich(tau_recovery=0.02, coupling=0.2, reset_voltage=-65, reset_recovery=8)`
/// (regular-spiking defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Izhikevich {
    /// Time scale of the recovery variable (Izhikevich's `a`).
    pub tau_recovery: f64,
    /// Sensitivity of recovery to the voltage (`b`).
    pub coupling: f64,
    /// Voltage after a spike, in mV (`c`).
    pub reset_voltage: f64,
    /// Added to the recovery variable after a spike (`d`).
    pub reset_recovery: f64,
}

impl Default for Izhikevich {
    fn default() -> Self {
        Self { tau_recovery: 0.02, coupling: 0.2, reset_voltage: -65.0, reset_recovery: 8.0 }
    }
}

/// One Izhikevich neuron for one step: updates `v` and `u`, returns whether it spiked.
#[inline]
fn izhikevich_update<T: Float>(p: &Izhikevich, dt: T, j: T, v: &mut T, u: &mut T) -> bool {
    let thousand = lit::<T>(1000.0);
    // Very negative currents make the Euler scheme unstable; Nengo clips them at -30.
    let j = if j < lit(-30.0) { lit(-30.0) } else { j };
    let dv = (lit::<T>(0.04) * (*v * *v) + lit::<T>(5.0) * *v + lit(140.0) - *u + j) * thousand;
    *v = *v + dv * dt;
    let spiked = *v >= lit(30.0);
    if spiked {
        *v = lit(p.reset_voltage);
    }
    let du = (lit::<T>(p.tau_recovery) * (lit::<T>(p.coupling) * *v - *u)) * thousand;
    *u = *u + du * dt;
    if spiked {
        *u = *u + lit(p.reset_recovery);
    }
    spiked
}

impl Izhikevich {
    /// One step: `out` is `1 / dt` where a neuron reached 30 mV, else 0.
    pub fn step<T: Float>(
        &self,
        dt: T,
        j: &[T],
        out: &mut [T],
        voltage: &mut [T],
        recovery: &mut [T],
    ) {
        let height = T::one() / dt;
        for (((o, &j), v), u) in
            out.iter_mut().zip(j).zip(voltage.iter_mut()).zip(recovery.iter_mut())
        {
            let spiked = izhikevich_update(self, dt, j, v, u);
            *o = if spiked { height } else { T::zero() };
        }
    }

    /// Settled firing rate for a constant current, as Nengo's `rates`: from voltage 0 and
    /// recovery 0, simulate 1 ms to settle, then average the output over 1 s (dt = 1 ms).
    pub fn rate(&self, j: f64) -> f64 {
        let dt = 0.001;
        let (mut v, mut u) = (0.0, 0.0);
        let height = 1.0 / dt;
        let settle_steps = (0.001 / dt) as usize;
        let steps = (1.0 / dt) as usize;
        for _ in 0..settle_steps {
            izhikevich_update(self, dt, j, &mut v, &mut u);
        }
        let mut total = 0.0;
        for _ in 0..steps {
            if izhikevich_update(self, dt, j, &mut v, &mut u) {
                total += height;
            } else {
                total += 0.0;
            }
        }
        total / steps as f64
    }
}
