//! Decoded (NEF) connections as nengo-loihi 1.1 maps them (`builder/connection.py`,
//! `decode_neurons.py`, `builder/probe.py`), in float32 where nengo-loihi's arrays are:
//!
//! * ensemble → ensemble: a block of decode neurons (`Preset10DecodeNeurons`: 10 on/off
//!   pairs per dimension of spiking ReLU compartments, threshold 1) fed by the pre
//!   ensemble's spikes through the decoders (`transform · decoders / dt · amplitude / post
//!   radius`, times each pair's gain, `+` on, `−` off) with the connection's synapse; its
//!   spikes reach the post ensemble through the ensemble's shared `decode_neuron_encoders`
//!   synapse (`scale · gain · encoders`, rows `[Eᵀ; −Eᵀ]`, axons `get_post_inds`), filtered
//!   by `decode_tau` (5 ms);
//! * host value → ensemble: an on/off spiking ReLU population on the host
//!   (`OnOffDecodeNeurons(is_input=True)`) whose spikes reach the ensemble through its
//!   `node_encoders` synapse, filtered by `decode_tau`;
//! * decoded probe of an ensemble: a non-spiking block of `2 · dims` compartments (on, off)
//!   whose voltages the host weights by `± radius / v_scale` and filters.

use crate::block::{Block, Model, Synapse};
use snn_runtime::neurons::{linspace, NeuronType, RectifiedLinear};

/// Pairs of decode neurons per dimension (`Preset10DecodeNeurons`).
pub const PAIRS: usize = 10;

/// nengo-loihi's `decode_tau` (s): the filter of decode-neuron and on/off input into an
/// ensemble.
pub const DECODE_TAU: f64 = 0.005;

/// NumPy's pairwise sum of up to 128 values (eight partial sums, then the rest in order).
fn np_sum(a: &[f64]) -> f64 {
    if a.len() < 8 {
        return a.iter().fold(0.0, |s, x| s + x);
    }
    let mut r = [0.0; 8];
    r.copy_from_slice(&a[..8]);
    let mut i = 8;
    while i + 8 <= a.len() {
        for (k, rk) in r.iter_mut().enumerate() {
            *rk += a[i + k];
        }
        i += 8;
    }
    let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for x in &a[i..] {
        res += x;
    }
    res
}

/// `Preset10DecodeNeurons(dt)`: per neuron of a pair (on, off, on, off, …) its gain and bias,
/// and the post-encoder `scale`.
#[derive(Clone, Debug)]
pub struct DecodeNeurons {
    /// Gains, `2 · PAIRS` (each pair's repeated for on and off).
    pub gain: Vec<f64>,
    /// Biases, likewise.
    pub bias: Vec<f64>,
    /// `scale_factor · target_point / (dt · target_rate)`.
    pub scale: f64,
}

impl DecodeNeurons {
    /// nengo-loihi's preset at time step `dt`.
    pub fn preset10(dt: f64) -> Self {
        let intercepts = linspace(-1.171, 0.484, PAIRS);
        let max_rates = linspace(171.186, 74.620, PAIRS);
        // RectifiedLinear.gain_bias, which has a closed form (never an error)
        let (gain, bias) = NeuronType::RectifiedLinear(RectifiedLinear::default())
            .gain_bias(&max_rates, &intercepts)
            .unwrap_or_default();
        // LoihiSpikingRectifiedLinear.rates(1.0, gain, bias, dt), summed
        let rates: Vec<f64> = gain
            .iter()
            .zip(&bias)
            .map(|(g, b)| {
                let j = g * 1.0 + b;
                if j > 0.0 {
                    (1.0 / dt) / ((1.0 / j) / dt).ceil()
                } else {
                    0.0
                }
            })
            .collect();
        let target_rate = np_sum(&rates);
        let scale = 1.02 * 1.0 / (dt * target_rate);
        let rep = |v: &[f64]| v.iter().flat_map(|x| [*x, *x]).collect();
        DecodeNeurons { gain: rep(&gain), bias: rep(&bias), scale }
    }

    /// `OnOffDecodeNeurons(dt, is_input=True)`: one pair per dimension, gain = bias =
    /// `0.5 · rate`, rate `1 / dt`.
    pub fn on_off(dt: f64) -> Self {
        let rate = 1.0 / (dt * 1.0);
        let g = 0.5 * rate;
        DecodeNeurons { gain: vec![g, g], bias: vec![g, g], scale: 1.0 / (dt * rate * 1.0) }
    }
}

/// `get_post_inds(inds, d)` over `pairs` pairs: `[inds, inds + d] * pairs`.
pub fn post_inds(inds: &[usize], d: usize, pairs: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(2 * inds.len() * pairs);
    for _ in 0..pairs {
        out.extend(inds.iter().copied());
        out.extend(inds.iter().map(|i| i + d));
    }
    out
}

/// The encoder synapse of a post ensemble (`get_post_encoders`): `2 · dims` axons, axon `k`
/// the float32 `scale · gain · encoders[:, k]` onto every neuron, axon `dims + k` its
/// negation; decode compartment `c` uses axon `axon_map[c]`.
pub fn encoder_synapse(
    name: &str,
    origin: snn_syntax::Span,
    source: usize,
    gain_encoders: &ndarray::Array2<f64>,
    scale: f64,
    axon_map: &[usize],
) -> Synapse {
    let (n, d) = gain_encoders.dim();
    let mut axons = vec![Vec::with_capacity(n); 2 * d];
    for k in 0..d {
        for i in 0..n {
            let w = (gain_encoders[[i, k]] * scale) as f32;
            axons[k].push((i as u32, w));
            axons[d + k].push((i as u32, -w));
        }
    }
    Synapse {
        name: name.to_string(),
        origin,
        source,
        axon_of: axon_map.iter().map(|&a| Some(a)).collect(),
        axons,
        dense: true,
        pop: None,
        alias: false,
    }
}

/// The decoders of a connection or probe as nengo-loihi's `loihi_weights` (float64 until
/// `Synapse.set_weights` casts to float32), per pre neuron (rows) and output dimension:
/// `w · (1/dt) · amplitude · (1 / radius)`.
pub fn loihi_weights(
    rows: &[Vec<(usize, f64)>],
    n_pre: usize,
    dt: f64,
    amp: f64,
    radius: f64,
) -> Vec<Vec<f64>> {
    let d = rows.len();
    let g = 1.0 / radius;
    let mut w = vec![vec![0.0; d]; n_pre];
    for (j, row) in rows.iter().enumerate() {
        for &(c, v) in row {
            w[c][j] = ((v * (1.0 / dt)) * amp) * g;
        }
    }
    w
}

/// A decode-neuron block (`OnOffDecodeNeurons.get_block`) for `weights` (per pre neuron,
/// `d` dims) from population `source`: `2 · d · PAIRS` compartments, pair `p`'s on
/// compartments `p · 2d + j` and off `p · 2d + d + j`.
#[allow(clippy::too_many_arguments)]
pub fn decode_block(
    name: &str,
    origin: snn_syntax::Span,
    dn: &DecodeNeurons,
    weights: &[Vec<f64>],
    axons_of: &[usize],
    n_source: usize,
    source: usize,
    conn: &str,
    tau_s: f64,
    dt: f64,
) -> Block {
    let d = weights.first().map_or(0, Vec::len);
    let pairs = dn.gain.len() / 2;
    let n = 2 * d * pairs;
    let mut bias = Vec::with_capacity(n);
    for b in &dn.bias {
        bias.extend(std::iter::repeat_n((b * dt) as f32, d));
    }
    let mut axon_of = vec![None; n_source];
    let mut axons = Vec::with_capacity(axons_of.len());
    for &c in axons_of {
        axon_of[c] = Some(axons.len());
        let mut ws = Vec::with_capacity(n);
        for p in 0..pairs {
            let ga = dn.gain[2 * p] * dt;
            let gb = -(dn.gain[2 * p + 1] * dt);
            for (j, w) in weights[c].iter().enumerate() {
                ws.push(((p * 2 * d + j) as u32, (w * ga) as f32));
            }
            for (j, w) in weights[c].iter().enumerate() {
                ws.push(((p * 2 * d + d + j) as u32, (w * gb) as f32));
            }
        }
        axons.push(ws);
    }
    Block {
        name: name.to_string(),
        origin,
        n,
        model: Model::DecodeRelu,
        amplitude: 1.0,
        tau_s,
        tau_set: true,
        bias,
        synapses: vec![Synapse {
            name: conn.to_string(),
            origin,
            source,
            axon_of,
            axons,
            dense: true,
            pop: None,
            alias: false,
        }],
        population: usize::MAX,
        offset: 0,
        members: (0..n).collect(),
    }
}

/// A decoded probe's block (`conn_probe`: non-spiking, no synapse, bias 0): `2 · d`
/// compartments, weights `[w · g, w · (−g)]` with `g = 1 / pre radius`.
pub fn probe_block(
    name: &str,
    origin: snn_syntax::Span,
    weights: &[Vec<f64>],
    radius: f64,
    n_source: usize,
    source: usize,
) -> Block {
    let d = weights.first().map_or(0, Vec::len);
    let g = 1.0 / radius;
    let mut axons = Vec::with_capacity(n_source);
    for row in weights {
        let mut ws = Vec::with_capacity(2 * d);
        for (j, w) in row.iter().enumerate() {
            ws.push((j as u32, (w * g) as f32));
        }
        for (j, w) in row.iter().enumerate() {
            ws.push(((d + j) as u32, (w * -g) as f32));
        }
        axons.push(ws);
    }
    Block {
        name: name.to_string(),
        origin,
        n: 2 * d,
        model: Model::NonSpiking,
        amplitude: 1.0,
        tau_s: 0.0,
        tau_set: true,
        bias: vec![0.0; 2 * d],
        synapses: vec![Synapse {
            name: name.to_string(),
            origin,
            source,
            axon_of: (0..n_source).map(Some).collect(),
            axons,
            dense: true,
            pop: None,
            alias: false,
        }],
        population: usize::MAX,
        offset: 0,
        members: (0..2 * d).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_sum_order() {
        let a: Vec<f64> = (0..10).map(|i| 0.1 * i as f64 + 1e-17).collect();
        let want = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])) + a[8] + a[9];
        assert_eq!(np_sum(&a), want);
    }

    #[test]
    fn post_inds_repeat_pairs() {
        assert_eq!(post_inds(&[1], 2, 2), vec![1, 3, 1, 3]);
    }
}
