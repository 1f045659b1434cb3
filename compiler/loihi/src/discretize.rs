//! nengo-loihi 1.1's discretization (`builder/discretize.py`, `block.py`): float blocks to
//! the integers a Loihi core holds. Each step mirrors NumPy's arithmetic, including where it
//! computes in float32 (the block arrays are float32) and its round-half-to-even, so the
//! integers are nengo-loihi's exactly.

use crate::block::{Block, Model};

/// Largest vth mantissa (`VTH_MAN_MAX`).
pub const VTH_MAN_MAX: i64 = (1 << 17) - 1;
/// vth exponent, fixed (`VTH_EXP`).
pub const VTH_EXP: i32 = 6;
/// Largest threshold (`VTH_MAX`).
pub const VTH_MAX: f64 = (VTH_MAN_MAX << VTH_EXP) as f64;
/// Largest bias mantissa (`BIAS_MAN_MAX`).
pub const BIAS_MAN_MAX: i64 = (1 << 12) - 1;
/// Largest bias exponent (`BIAS_EXP_MAX`).
pub const BIAS_EXP_MAX: i32 = 7;
/// Largest bias (`BIAS_MAX`).
pub const BIAS_MAX: f64 = (BIAS_MAN_MAX << BIAS_EXP_MAX) as f64;
/// Bits of the synaptic input accumulator (plus sign).
pub const Q_BITS: u32 = 21;
/// Bits of the compartment current (plus sign).
pub const U_BITS: u32 = 23;
/// Smallest decay that may be scaled (`Compartment.DECAY_SCALE_TH`).
pub const DECAY_SCALE_TH: f64 = 0.5 / 4096.0;
/// nengo-loihi's default synapse of a block no connection filters (`Model.decode_tau`).
pub const DECODE_TAU: f64 = 0.005;
/// Threshold of non-spiking (decoded probe) compartments (`Model.vth_nonspiking`).
pub const NONSPIKING_VTH: f32 = 10.0;
/// Weight bits of nengo-loihi's synapse format (`weight_bits = 7` → 8 bits).
pub const WEIGHT_BITS: u32 = 8;
/// Right shift of stored weights: `8 - weight bits + is_mixed` (`fanout_type = 1`).
pub const SHIFT_BITS: i32 = 1;

/// A discretized block: what its compartments and synapses hold.
#[derive(Clone, Debug)]
pub struct DBlock {
    /// `decayU` (same for every compartment).
    pub decay_u: i32,
    /// `decayV`.
    pub decay_v: i32,
    /// Refractory delay in steps.
    pub refract_delay: i32,
    /// Threshold (`vth_man << 6`).
    pub vth: i32,
    /// Per compartment: bias mantissa and exponent (`bias = man << exp`).
    pub bias_man: Vec<i32>,
    /// Per compartment bias exponent.
    pub bias_exp: Vec<i32>,
    /// Lowest voltage.
    pub vmin: i32,
    /// Highest voltage.
    pub vmax: i32,
    /// Per synapse of the block, in order.
    pub synapses: Vec<DSynapse>,
    /// Voltage units per model unit (nengo-loihi's `v_scale`).
    pub v_scale: f64,
    /// Weight units per model unit (`w_scale`).
    pub w_scale: f64,
    /// The block's weight exponent before per-synapse adjustment.
    pub w_exp: i32,
}

impl DBlock {
    /// The bias each compartment adds (`man << exp`).
    pub fn bias(&self) -> Vec<i32> {
        self.bias_man.iter().zip(&self.bias_exp).map(|(m, e)| m << e).collect()
    }
}

/// A discretized synapse.
#[derive(Clone, Debug)]
pub struct DSynapse {
    /// The format's weight exponent (`weight_exp`, −7..7; the real exponent is 6 + it).
    pub weight_exp: i32,
    /// Per axon: the targets and the weight the emulator adds (`W = w << (shift + exp) << 6`).
    pub axons: Vec<Vec<(u32, i32)>>,
    /// Per axon: the 8-bit stored weights (`w`, before the shifts).
    pub stored: Vec<Vec<i32>>,
    /// Root-mean-square quantization error of the weights (vs. the float weights, in units of
    /// this connection's largest weight).
    pub quant_error: f64,
}

/// Why a block does not discretize.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DiscretizeError {
    /// A time constant too long for the 12-bit decays.
    #[error("{0}")]
    Decay(String),
    /// No weight exponent fits threshold and biases.
    #[error("{0}")]
    Range(String),
}

/// The longest time constant whose decay Loihi can scale at `dt` (`decay > 0.5 / 4096`).
pub fn max_tau(dt: f64) -> f64 {
    -dt / (-DECAY_SCALE_TH).ln_1p()
}

/// `x` to 4 significant digits, for messages.
fn sig(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let p = 10f64.powi(3 - x.abs().log10().floor() as i32);
    (x * p).round() / p
}

fn round(x: f64) -> f64 {
    x.round_ties_even()
}

fn round32(x: f32) -> f32 {
    x.round_ties_even()
}

/// `decay_magnitude` (discretize.py): the estimated sum of the series of rounded integer
/// decays of `x0`.
pub fn decay_magnitude(decay: i32, x0: f64, offset: i32) -> f64 {
    let q = 0.494;
    let r = (4096 - offset - decay) as f64 / 4096.0;
    let n = -((x0 * (1.0 - r) / q).ln_1p()) / r.ln();
    let principal = (1.0 - r.powf(n + 1.0)) / (1.0 - r);
    let loss = q / ((1.0 - r) * x0) * (n + 1.0 - (1.0 - r.powf(n + 1.0)) / (1.0 - r));
    principal - loss
}

/// The float compartment parameters (`Compartment.configure_*`), float32 as nengo-loihi keeps
/// them: (decay_u, decay_v, vth, refract_delay, vmin, vmax, scale_u, scale_v).
struct Float {
    decay_u: f32,
    decay_v: f32,
    vth: f32,
    refract_delay: i32,
    vmin: f64,
    vmax: f64,
    scale_u: bool,
    scale_v: bool,
}

fn float_params(b: &Block, dt: f64) -> Result<Float, DiscretizeError> {
    let tau_s = if b.tau_set { b.tau_s } else { DECODE_TAU };
    let decay_u64 = if tau_s == 0.0 { 1.0 } else { -(-dt / tau_s).exp_m1() };
    if decay_u64 <= DECAY_SCALE_TH {
        return Err(DiscretizeError::Decay(format!(
            "`{}`: a synapse of {} s is too long for Loihi's 12-bit decay (at most {} s at dt = {dt} s)",
            b.name,
            sig(tau_s),
            sig(max_tau(dt))
        )));
    }
    let (decay_v, vth, refract_delay, vmin, scale_v) = match b.model {
        Model::Lif { tau_rc, tau_ref, min_voltage } => {
            let dv = (-(-dt / tau_rc).exp_m1()) as f32;
            if f64::from(dv) <= DECAY_SCALE_TH {
                return Err(DiscretizeError::Decay(format!(
                    "`{}`: tau_rc = {} s is too long for Loihi's 12-bit decay (at most {} s at dt = {dt} s)",
                    b.name,
                    sig(tau_rc),
                    sig(max_tau(dt))
                )));
            }
            (dv, 1.0f32, round(tau_ref / dt) as i32 + 1, min_voltage, true)
        }
        Model::Relu => (0.0, (1.0 / dt) as f32, 1, 0.0, false),
        Model::DecodeRelu => (0.0, 1.0, 1, 0.0, false),
        Model::NonSpiking => (1.0, NONSPIKING_VTH, 1, 0.0, false),
    };
    Ok(Float {
        decay_u: decay_u64 as f32,
        decay_v,
        vth,
        refract_delay,
        vmin,
        vmax: f64::INFINITY,
        scale_u: true,
        scale_v,
    })
}

/// Discretizes `b` (`discretize_block`: compartment, then each synapse).
pub fn discretize_block(b: &Block, dt: f64) -> Result<DBlock, DiscretizeError> {
    let f = float_params(b, dt)?;
    // --- decays (float32 arithmetic: the arrays are float32)
    let du = round32((f.decay_u * 4095.0 - 1.0).clamp(0.0, 4095.0)) as i32;
    let dv = round32(f.decay_v * 4095.0) as i32;
    let u_inf = if f.scale_u { 1.0 / decay_magnitude(du, 2097152.0, 1) } else { 1.0 };
    let v_inf = if f.scale_v { 1.0 / decay_magnitude(dv, 2097152.0, 0) } else { 1.0 };

    let w_max = b.synapses.iter().map(|s| s.max_abs_weight()).fold(f32::NEG_INFINITY, f32::max);
    let w_max = if b.synapses.is_empty() { 0.0 } else { w_max };
    let b_max = b.bias.iter().map(|x| x.abs()).fold(0.0f32, f32::max);
    let vth_f = f64::from(f.vth);
    let mut w_exp = 0i32;
    let (v_scale, b_scale, w_scale, vth, bias): (f64, f64, f64, f64, Vec<f64>);
    if f64::from(w_max) > 1e-8 {
        let ws = 255.0 / f64::from(w_max);
        let s_scale = 1.0 / (u_inf * v_inf);
        let mut found = None;
        for e in (-7..=0).rev() {
            let vs = s_scale * ws * 2f64.powi(6 + e);
            let bs = vs * v_inf;
            let vt = round(vth_f * vs);
            let bi: Vec<f64> = b.bias.iter().map(|&x| round(f64::from(x) * bs)).collect();
            if vt <= VTH_MAX && bi.iter().all(|x| x.abs() <= BIAS_MAX) {
                found = Some((e, vs, bs, vt, bi));
                break;
            }
        }
        let Some((e, vs, bs, vt, bi)) = found else {
            return Err(DiscretizeError::Range(format!(
                "`{}`: no weight exponent fits its threshold and biases next to its largest weight {w_max}",
                b.name
            )));
        };
        w_exp = e;
        (v_scale, b_scale, w_scale, vth, bias) = (vs, bs, ws, vt, bi);
    } else if f64::from(b_max) > 1e-8 {
        let mut bs = BIAS_MAX / f64::from(b_max);
        let mut found = None;
        while bs * f64::from(b_max) > 1.0 {
            let vs = bs / v_inf;
            let ws = bs * u_inf / 2f64.powi(6 + w_exp);
            let vt = round(vth_f * vs);
            let bi: Vec<f64> = b.bias.iter().map(|&x| round(f64::from(x) * bs)).collect();
            if vt <= VTH_MAX {
                found = Some((vs, bs, ws, vt, bi));
                break;
            }
            bs /= 2.0;
        }
        let Some(r) = found else {
            return Err(DiscretizeError::Range(format!("`{}`: no bias scaling fits", b.name)));
        };
        (v_scale, b_scale, w_scale, vth, bias) = r;
    } else {
        let vth_max = VTH_MAX.min(((1i64 << Q_BITS) - 1) as f64);
        let vs = vth_max / f64::from(f.vth + 1.0);
        let vt = round(vth_f * vs);
        let bs = vs * v_inf;
        let bi: Vec<f64> = b.bias.iter().map(|&x| round(f64::from(x) * bs)).collect();
        let ws = vs * v_inf * u_inf / 2f64.powi(6 + w_exp);
        (v_scale, b_scale, w_scale, vth, bias) = (vs, bs, ws, vt, bi);
    }
    let _ = b_scale;
    // --- vth and bias as mantissa/exponent
    let vth_man = round(vth / 64.0) as i64;
    if vth_man <= 0 || vth_man > VTH_MAN_MAX {
        return Err(DiscretizeError::Range(format!(
            "`{}`: threshold mantissa {vth_man} outside 1..={VTH_MAN_MAX}",
            b.name
        )));
    }
    let mut bias_man = Vec::with_capacity(bias.len());
    let mut bias_exp = Vec::with_capacity(bias.len());
    for &x in &bias {
        let r = (x.abs() / BIAS_MAN_MAX as f64).max(1.0);
        let e = r.log2().ceil() as i32;
        let m = round(x / 2f64.powi(e)) as i64;
        if !(0..=BIAS_EXP_MAX).contains(&e) || m.abs() > BIAS_MAN_MAX {
            return Err(DiscretizeError::Range(format!(
                "`{}`: a bias of {x} does not fit a 12-bit mantissa and 3-bit exponent",
                b.name
            )));
        }
        bias_man.push(m as i32);
        bias_exp.push(e);
    }
    // --- vmin, vmax
    let vmin = v_scale * f.vmin;
    let vmine = round((-vmin + 1.0).log2()).clamp(0.0, 31.0);
    let vmin = -(2f64.powf(vmine)) + 1.0;
    let vmax = v_scale * f.vmax;
    let vmaxe = round(((vmax + 1.0).log2() - 9.0) * 0.5).clamp(0.0, 7.0);
    let vmax = 2f64.powf(9.0 + 2.0 * vmaxe) - 1.0;

    let synapses = b
        .synapses
        .iter()
        .map(|s| discretize_synapse(s, w_max, w_scale, w_exp, f64::from(w_max) > 1e-8))
        .collect();
    Ok(DBlock {
        decay_u: du,
        decay_v: dv,
        refract_delay: f.refract_delay,
        vth: (vth_man << VTH_EXP) as i32,
        bias_man,
        bias_exp,
        vmin: vmin as i32,
        vmax: vmax as i32,
        synapses,
        v_scale,
        w_scale,
        w_exp,
    })
}

/// `discretize_synapse` + `discretize_weights` (no learning).
fn discretize_synapse(
    s: &crate::block::Synapse,
    w_max: f32,
    w_scale: f64,
    w_exp: i32,
    scalar_scale: bool,
) -> DSynapse {
    let w_max_i = s.max_abs_weight();
    let (weight_exp, dw_exp) = if f64::from(w_max_i) > 1e-16 {
        let dw = (w_max / w_max_i).log2().floor() as i32;
        ((w_exp - dw).max(-6), dw)
    } else {
        (-6, w_exp + 6)
    };
    let m = (1i32 << (WEIGHT_BITS as i32 - SHIFT_BITS)) - 1;
    let s2 = SHIFT_BITS + weight_exp;
    let dw_pow = 2f64.powi(dw_exp);
    let mut axons = Vec::with_capacity(s.axons.len());
    let mut stored_all = Vec::with_capacity(s.axons.len());
    let (mut err2, mut count) = (0.0f64, 0usize);
    for a in &s.axons {
        let mut out = Vec::with_capacity(a.len());
        let mut stored = Vec::with_capacity(a.len());
        for &(i, w) in a {
            // float32 arithmetic where NumPy has float32 array * float64 scalar
            let x: f64 = if scalar_scale {
                f64::from(w * (w_scale as f32) * (dw_pow as f32))
            } else {
                f64::from(w) * w_scale * dw_pow
            };
            let mut q = if scalar_scale {
                f64::from(round32((x as f32) / 2f32.powi(SHIFT_BITS)))
            } else {
                round(x / 2f64.powi(SHIFT_BITS))
            }
            .clamp(-(m as f64), m as f64) as i32;
            if s2 < 0 {
                let p = 2f64.powi(s2);
                q = (round(f64::from(q) * p) / p).clamp(-(m as f64), m as f64) as i32;
            }
            stored.push(q);
            let shifted = if s2 < 0 { q >> (-s2) } else { q << s2 };
            let wq = shifted << 6;
            // the float weight this integer stands for (`W / 64 / 2^s2` is the stored
            // weight after the lossy shift, `2^shift / (w_scale 2^dw)` its unit)
            let eff =
                f64::from(wq) / 64.0 / 2f64.powi(s2) * 2f64.powi(SHIFT_BITS) / (w_scale * dw_pow);
            if w_max > 0.0 {
                err2 += ((eff - f64::from(w)) / f64::from(w_max_i)).powi(2);
                count += 1;
            }
            out.push((i, wq));
        }
        axons.push(out);
        stored_all.push(stored);
    }
    let quant_error = if count > 0 { (err2 / count as f64).sqrt() } else { 0.0 };
    DSynapse { weight_exp, axons, stored: stored_all, quant_error }
}
