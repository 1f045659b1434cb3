//! The reference backend: runs a [`Program`] op by op over plain f64 buffers, one batch element
//! at a time. Simple and obviously right; the definition the other backends are tested against.

use crate::ir::{OpKind, Program, Sel};
use crate::model::ConvSpec;
use crate::spec::ProcessSpec;
use ndarray::{ArrayD, IxDyn};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use snn_runtime::neurons::{NeuronState, StateInit};
use snn_runtime::process::{PresentInput, SampledSignal, WhiteNoise, WhiteSignal};
use snn_runtime::synapse::FilterState;

/// Per-op mutable state.
#[allow(clippy::large_enum_variant)] // one per op, built once per run
enum OpState {
    None,
    Neurons(NeuronState<f64>),
    Filter(FilterState<f64>),
    Noise(WhiteNoise),
    Signal(SampledSignal),
    Present(PresentInput),
}

/// Run `program` for `steps` steps. `inputs[i]` is `(batch, *shape)` (held) or
/// `(batch, steps, *shape)` (per step) for program input `i`. Returns one array per probe,
/// `(batch, samples, *shape)`.
pub fn run(
    program: &Program,
    steps: usize,
    batch: usize,
    inputs: &[ArrayD<f64>],
) -> Result<Vec<ArrayD<f64>>, String> {
    run_with_progress(program, steps, batch, inputs, &mut |_| {})
}

/// [`run`], calling `progress(n)` after every `n` simulated steps (summed over the batch).
pub fn run_with_progress(
    program: &Program,
    steps: usize,
    batch: usize,
    inputs: &[ArrayD<f64>],
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<ArrayD<f64>>, String> {
    let mut outputs: Vec<Vec<f64>> = program.probes.iter().map(|_| Vec::new()).collect();
    for b in 0..batch {
        run_one(program, steps, b, inputs, &mut outputs, progress)?;
    }
    let mut res = Vec::new();
    for (p, data) in program.probes.iter().zip(outputs) {
        let samples = (1..=steps).filter(|k| k % p.every == 0).count();
        let mut shape = vec![batch, samples];
        shape.extend(&p.shape);
        res.push(
            ArrayD::from_shape_vec(IxDyn(&shape), data)
                .map_err(|e| format!("probe {}: {e}", p.name))?,
        );
    }
    Ok(res)
}

fn run_one(
    program: &Program,
    steps: usize,
    b: usize,
    inputs: &[ArrayD<f64>],
    outputs: &mut [Vec<f64>],
    progress: &mut dyn FnMut(u64),
) -> Result<(), String> {
    let dt = program.dt;
    let mut sig: Vec<Vec<f64>> = program
        .signals
        .iter()
        .map(|s| if s.init.len() == s.size { s.init.clone() } else { vec![0.0; s.size] })
        .collect();
    let mut states = Vec::with_capacity(program.ops.len());
    for op in &program.ops {
        states.push(match &op.kind {
            OpKind::SimNeurons { neuron, j, init_voltage, seed, .. } => {
                let n = program.signals[j.0 as usize].size;
                let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(b as u64));
                let st = match init_voltage {
                    Some(v) => neuron
                        .make_state_with(n, &mut rng, &[("voltage", StateInit::Values(v.clone()))])
                        .map_err(|e| e.to_string())?,
                    None => neuron.make_state(n, &mut rng),
                };
                OpState::Neurons(st)
            }
            OpKind::Filter { filter, src, .. } => {
                OpState::Filter(filter.new_state(program.signals[src.0 as usize].size))
            }
            OpKind::Process { spec, dst, seed } => {
                let n = program.signals[dst.0 as usize].size;
                match spec {
                    ProcessSpec::WhiteNoise { mean, std, scale, seed: s } => {
                        let mut w = WhiteNoise::new(s.unwrap_or(*seed).wrapping_add(b as u64));
                        w.mean = *mean;
                        w.std = *std;
                        w.scale = *scale;
                        OpState::Noise(w)
                    }
                    ProcessSpec::WhiteSignal { period, high, rms, y0, seed: s } => {
                        let mut w = WhiteSignal::new(
                            *period,
                            *high,
                            s.unwrap_or(*seed).wrapping_add(b as u64),
                        );
                        w.rms = *rms;
                        w.y0 = *y0;
                        OpState::Signal(w.build(n, dt).map_err(|e| e.to_string())?)
                    }
                    ProcessSpec::PresentInput { inputs, presentation_time } => OpState::Present(
                        PresentInput::new(inputs.view(), *presentation_time)
                            .map_err(|e| e.to_string())?,
                    ),
                }
            }
            _ => OpState::None,
        });
    }
    let mut scratch = Vec::new();
    for k in 1..=steps {
        let t = k as f64 * dt;
        for (op, st) in program.ops.iter().zip(states.iter_mut()) {
            match &op.kind {
                OpKind::Input { input, dst } => {
                    let data = &inputs[*input];
                    let size = sig[dst.0 as usize].len();
                    let flat = data.as_slice().ok_or("input array is not contiguous")?;
                    let per_b = flat.len() / data.shape()[0].max(1);
                    let start = if per_b == size { b * per_b } else { b * per_b + (k - 1) * size };
                    sig[dst.0 as usize].copy_from_slice(&flat[start..start + size]);
                }
                OpKind::Reset { dst, value } => {
                    let d = &mut sig[dst.0 as usize];
                    if value.len() == 1 {
                        d.fill(value[0]);
                    } else {
                        d.copy_from_slice(value);
                    }
                }
                OpKind::Copy { src, dst, src_sel, dst_sel, inc } => {
                    gather(&sig[src.0 as usize], src_sel, &mut scratch);
                    scatter(&mut sig[dst.0 as usize], dst_sel, &scratch, *inc);
                }
                OpKind::ElementwiseInc { scale, src, dst, src_sel, dst_sel } => {
                    gather(&sig[src.0 as usize], src_sel, &mut scratch);
                    for (i, v) in scratch.iter_mut().enumerate() {
                        *v *= if scale.len() == 1 { scale[0] } else { scale[i] };
                    }
                    scatter(&mut sig[dst.0 as usize], dst_sel, &scratch, true);
                }
                OpKind::DotInc { mat, src, dst, src_sel, dst_sel } => {
                    gather(&sig[src.0 as usize], src_sel, &mut scratch);
                    let y: Vec<f64> = mat
                        .outer_iter()
                        .map(|row| row.iter().zip(&scratch).map(|(a, x)| a * x).sum())
                        .collect();
                    scatter(&mut sig[dst.0 as usize], dst_sel, &y, true);
                }
                OpKind::SparseDotInc { rows, cols, vals, src, dst, src_sel, dst_sel } => {
                    gather(&sig[src.0 as usize], src_sel, &mut scratch);
                    let n_out = match dst_sel {
                        Some(ix) => ix.len(),
                        None => sig[dst.0 as usize].len(),
                    };
                    let mut y = vec![0.0; n_out];
                    for ((r, c), v) in rows.iter().zip(cols).zip(vals) {
                        y[*r] += v * scratch[*c];
                    }
                    scatter(&mut sig[dst.0 as usize], dst_sel, &y, true);
                }
                OpKind::ConvInc { spec, src, dst } => {
                    let x = sig[src.0 as usize].clone();
                    conv_inc(spec, &x, &mut sig[dst.0 as usize]);
                }
                OpKind::SimNeurons { neuron, j, out, states: st_sigs, .. } => {
                    let OpState::Neurons(ns) = st else { continue };
                    let jv = sig[j.0 as usize].clone();
                    neuron.step(dt, &jv, &mut sig[out.0 as usize], ns);
                    for (name, s) in st_sigs {
                        if let Some(v) = ns.get(name) {
                            sig[s.0 as usize].copy_from_slice(v);
                        }
                    }
                }
                OpKind::Filter { src, dst, .. } => {
                    let OpState::Filter(fs) = st else { continue };
                    let x = sig[src.0 as usize].clone();
                    fs.step(&x, &mut sig[dst.0 as usize]);
                }
                OpKind::NodeFn { f, input, dst } => {
                    let x: &[f64] = match input {
                        Some(i) => &sig[i.0 as usize],
                        None => &[],
                    };
                    let y = f.eval(t, x);
                    sig[dst.0 as usize].copy_from_slice(&y);
                }
                OpKind::Process { dst, .. } => {
                    let d = &mut sig[dst.0 as usize];
                    match st {
                        OpState::Noise(w) => w.step(k as u64, dt, d),
                        OpState::Signal(s) => s.step(k as u64, d),
                        OpState::Present(p) => p.step(k as u64, dt, d),
                        _ => {}
                    }
                }
            }
        }
        if k % 100 == 0 {
            progress(100);
        }
        for (p, out) in program.probes.iter().zip(outputs.iter_mut()) {
            if k % p.every == 0 {
                out.extend_from_slice(&sig[p.signal.0 as usize]);
            }
        }
    }
    Ok(())
}

fn gather(src: &[f64], sel: &Sel, out: &mut Vec<f64>) {
    out.clear();
    match sel {
        None => out.extend_from_slice(src),
        Some(ix) => out.extend(ix.iter().map(|&i| src[i])),
    }
}

fn scatter(dst: &mut [f64], sel: &Sel, vals: &[f64], inc: bool) {
    match sel {
        None => {
            for (d, v) in dst.iter_mut().zip(vals) {
                if inc {
                    *d += v;
                } else {
                    *d = *v;
                }
            }
        }
        Some(ix) => {
            for (&i, v) in ix.iter().zip(vals) {
                if inc {
                    dst[i] += v;
                } else {
                    dst[i] = *v;
                }
            }
        }
    }
}

/// 2-D geometry of a convolution (1-D ones get a leading spatial size of 1).
struct Geom {
    in_hw: [usize; 2],
    out_hw: [usize; 2],
    k_hw: [usize; 2],
    stride: [usize; 2],
    pad: [usize; 2],
    cin: usize,
    cout: usize,
}

fn geom(spec: &ConvSpec) -> Geom {
    let cl = spec.channels_last;
    let split = |s: &[usize]| -> (Vec<usize>, usize) {
        if cl {
            (s[..s.len() - 1].to_vec(), s[s.len() - 1])
        } else {
            (s[1..].to_vec(), s[0])
        }
    };
    let two = |v: &[usize], fill: usize| -> [usize; 2] {
        if v.len() == 1 {
            [fill, v[0]]
        } else {
            [v[0], v[1]]
        }
    };
    let (xi, cin) = split(&spec.input_shape);
    let (yo, cout) = split(&spec.output_shape);
    let nd = xi.len();
    let k: Vec<usize> = spec.kernel.shape()[..nd].to_vec();
    Geom {
        in_hw: two(&xi, 1),
        out_hw: two(&yo, 1),
        k_hw: two(&k, 1),
        stride: two(&spec.strides, 1),
        pad: two(&spec.pad_before, 0),
        cin,
        cout,
    }
}

fn idx(cl: bool, hw: [usize; 2], c_total: usize, h: usize, w: usize, c: usize) -> usize {
    if cl {
        (h * hw[1] + w) * c_total + c
    } else {
        (c * hw[0] + h) * hw[1] + w
    }
}

/// `y += conv(x)` (or its transpose); the kernel is `kernel_size + (c_in_per_group, filters)`.
fn conv_inc(spec: &ConvSpec, x: &[f64], y: &mut [f64]) {
    let g = geom(spec);
    let cl = spec.channels_last;
    let kernel = spec
        .kernel
        .as_slice()
        .map(<[f64]>::to_vec)
        .unwrap_or_else(|| spec.kernel.iter().copied().collect());
    let kshape = spec.kernel.shape();
    let nk = kshape.len();
    let (kci, kco) = (kshape[nk - 2], kshape[nk - 1]);
    let kidx =
        |kh: usize, kw: usize, ci: usize, co: usize| ((kh * g.k_hw[1] + kw) * kci + ci) * kco + co;
    if !spec.transpose {
        let groups = spec.groups.max(1);
        let cin_g = g.cin / groups;
        let cout_g = g.cout / groups;
        for oh in 0..g.out_hw[0] {
            for ow in 0..g.out_hw[1] {
                for co in 0..g.cout {
                    let grp = co / cout_g.max(1);
                    let mut acc = 0.0;
                    for kh in 0..g.k_hw[0] {
                        let ih = (oh * g.stride[0] + kh) as isize - g.pad[0] as isize;
                        if ih < 0 || ih as usize >= g.in_hw[0] {
                            continue;
                        }
                        for kw in 0..g.k_hw[1] {
                            let iw = (ow * g.stride[1] + kw) as isize - g.pad[1] as isize;
                            if iw < 0 || iw as usize >= g.in_hw[1] {
                                continue;
                            }
                            for ci in 0..cin_g {
                                let c = grp * cin_g + ci;
                                acc += x[idx(cl, g.in_hw, g.cin, ih as usize, iw as usize, c)]
                                    * kernel[kidx(kh, kw, ci, co)];
                            }
                        }
                    }
                    y[idx(cl, g.out_hw, g.cout, oh, ow, co)] += acc;
                }
            }
        }
    } else {
        // Transpose: the forward convolution maps y-space (output) positions onto x-space (input).
        for yh in 0..g.out_hw[0] {
            for yw in 0..g.out_hw[1] {
                for kh in 0..g.k_hw[0] {
                    let th = yh as isize + g.pad[0] as isize - kh as isize;
                    if th < 0 || !(th as usize).is_multiple_of(g.stride[0]) {
                        continue;
                    }
                    let xh = th as usize / g.stride[0];
                    if xh >= g.in_hw[0] {
                        continue;
                    }
                    for kw in 0..g.k_hw[1] {
                        let tw = yw as isize + g.pad[1] as isize - kw as isize;
                        if tw < 0 || !(tw as usize).is_multiple_of(g.stride[1]) {
                            continue;
                        }
                        let xw = tw as usize / g.stride[1];
                        if xw >= g.in_hw[1] {
                            continue;
                        }
                        for ci in 0..g.cin {
                            let xv = x[idx(cl, g.in_hw, g.cin, xh, xw, ci)];
                            for co in 0..g.cout {
                                y[idx(cl, g.out_hw, g.cout, yh, yw, co)] +=
                                    xv * kernel[kidx(kh, kw, ci, co)];
                            }
                        }
                    }
                }
            }
        }
    }
}
