//! Numeric gain/bias and max-rate/intercept search for types without closed forms (Nengo's
//! `NeuronType.gain_bias` / `max_rates_intercepts` defaults), with NumPy's `linspace` and `interp`.

use super::{NeuronError, PerNeuron};

/// `numpy.linspace(start, stop, num)`: `start + i * step`, with the last point exactly `stop`.
pub fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    match num {
        0 => Vec::new(),
        1 => vec![start],
        _ => {
            let div = (num - 1) as f64;
            let step = (stop - start) / div;
            let mut out: Vec<f64> = if step == 0.0 {
                (0..num).map(|i| (i as f64 / div) * (stop - start) + start).collect()
            } else {
                (0..num).map(|i| i as f64 * step + start).collect()
            };
            out[num - 1] = stop;
            out
        }
    }
}

/// `numpy.interp(x, xp, fp)` for one point: piecewise-linear through `(xp, fp)` (`xp`
/// non-decreasing), clamped to `fp[0]` / `fp[last]` outside; ties resolve as NumPy does.
pub fn interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    let n = xp.len().min(fp.len());
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x > xp[n - 1] {
        return fp[n - 1];
    }
    if x < xp[0] {
        return fp[0];
    }
    // Last index with xp[j] <= x (NumPy's binary search result for a sorted array).
    let j = xp[..n].partition_point(|&v| v <= x) - 1;
    if j == n - 1 || xp[j] == x {
        return fp[j];
    }
    let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    let y = slope * (x - xp[j]) + fp[j];
    if !y.is_nan() {
        return y;
    }
    let y = slope * (x - xp[j + 1]) + fp[j + 1];
    if y.is_nan() && fp[j] == fp[j + 1] {
        fp[j]
    } else {
        y
    }
}

/// Nengo's generic `gain_bias`: sweep the current over `[-Jr, Jr]` (101 points, doubling `Jr`
/// from 10 up to ten times) to bracket the threshold and the top rate, then invert the rate
/// curve by linear interpolation. `rate` maps a constant current to a rate in Hz.
pub fn gain_bias_numeric(
    neuron: &'static str,
    rate: impl Fn(f64) -> f64,
    max_rates: &[f64],
    intercepts: &[f64],
) -> Result<PerNeuron, NeuronError> {
    super::check_len("intercepts", max_rates.len(), intercepts.len())?;
    const J_STEPS: usize = 101;
    let max_rate = max_rates.iter().copied().fold(f64::NEG_INFINITY, f64::max);

    let mut j_threshold = None;
    let mut j_max = None;
    let mut jr = 10.0;
    for _ in 0..10 {
        let j = linspace(-jr, jr, J_STEPS);
        let r: Vec<f64> = j.iter().map(|&j| rate(j)).collect();
        if j_threshold.is_none() {
            j_threshold = r.iter().rposition(|&r| r <= 0.0).map(|i| j[i]);
        }
        if j_max.is_none() {
            j_max = r.iter().position(|&r| r >= max_rate).map(|i| j[i]);
        }
        if j_threshold.is_some() && j_max.is_some() {
            break;
        }
        jr *= 2.0;
    }
    let j_threshold = j_threshold.ok_or(NeuronError::ThresholdNotFound { neuron })?;
    let j_max = j_max.ok_or(NeuronError::MaxCurrentNotFound { neuron, max_rate })?;

    let j = linspace(j_threshold, j_max, J_STEPS);
    let r: Vec<f64> = j.iter().map(|&j| rate(j)).collect();
    let mut gain = Vec::with_capacity(max_rates.len());
    let mut bias = Vec::with_capacity(max_rates.len());
    for (&mr, &ic) in max_rates.iter().zip(intercepts) {
        let j_top = interp(mr, &r, &j);
        let g = (j_threshold - j_top) / (ic - 1.0);
        gain.push(g);
        bias.push(j_top - g);
    }
    Ok((gain, bias))
}

/// Nengo's generic `max_rates_intercepts`: the rate at x = 1, and the intercept as the last
/// point of `linspace(-1, 1, 101)` before the rate first becomes positive.
pub fn max_rates_intercepts_numeric(
    rate: impl Fn(f64) -> f64,
    gain: &[f64],
    bias: &[f64],
) -> PerNeuron {
    let x_range = linspace(-1.0, 1.0, 101);
    let mut max_rates = Vec::with_capacity(gain.len());
    let mut intercepts = Vec::with_capacity(gain.len());
    for (&g, &b) in gain.iter().zip(bias) {
        max_rates.push(rate(g * 1.0 + b));
        let first_positive = x_range.iter().position(|&x| rate(g * x + b) > 0.0).unwrap_or(0);
        intercepts.push(x_range[first_positive.saturating_sub(1)]);
    }
    (max_rates, intercepts)
}
