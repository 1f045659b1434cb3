//! Host functions of nodes (`max_pool2d`, `softmax`, `elu`, `keras_layer`): [`HostOp`] and its
//! plain `f64` kernels over flat, row-major arrays, what every backend runs for a `HostFn` op.

use ndarray::ArrayD;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The geometry of a max pooling.
#[derive(Clone, Copy, Debug)]
pub struct Pool<'a> {
    /// Input shape (spatial dims and channels).
    pub input_shape: &'a [usize],
    /// Output shape.
    pub output_shape: &'a [usize],
    /// Window size per spatial dim.
    pub size: &'a [usize],
    /// Stride per spatial dim.
    pub strides: &'a [usize],
    /// Padding before each spatial dim.
    pub pad_before: &'a [usize],
    /// Channels are the last axis (else the first).
    pub channels_last: bool,
}

/// ELU: `y = x` for `x > 0`, `alpha (e^x − 1)` otherwise.
pub fn elu(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = if v > 0.0 { v } else { alpha * v.exp_m1() };
    }
}

/// Softmax of `x` (of `shape`) along `axis`, max-subtracted as TensorFlow computes it.
pub fn softmax(shape: &[usize], axis: usize, x: &[f64], y: &mut [f64]) {
    let n_axis = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * n_axis + k) * inner + i;
            let m = (0..n_axis).map(|k| x[at(k)]).fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = (0..n_axis).map(|k| (x[at(k)] - m).exp()).sum();
            for k in 0..n_axis {
                y[at(k)] = (x[at(k)] - m).exp() / s;
            }
        }
    }
}

/// Max pooling with TensorFlow's semantics: cells outside the input never win.
pub fn max_pool(p: &Pool<'_>, x: &[f64], y: &mut [f64]) {
    max_pool_winners(p, x, |k, best, _| {
        if let Some(o) = y.get_mut(k) {
            *o = best;
        }
    });
}

/// The gradient of [`max_pool`]: `dx[i] += dy[k]` for the input `i` that won output `k` (the
/// first of equal maxima in window order, as TensorFlow's `MaxPoolGrad` routes it).
pub fn max_pool_backward(p: &Pool<'_>, x: &[f64], dy: &[f64], dx: &mut [f64]) {
    max_pool_winners(p, x, |k, _, i| {
        if let (Some(i), Some(&g)) = (i, dy.get(k)) {
            dx[i] += g;
        }
    });
}

/// Calls `f(k, max, index of the max)` for each output `k` of the pooling (the index is `None`
/// when no window cell is inside the input).
fn max_pool_winners(p: &Pool<'_>, x: &[f64], mut f: impl FnMut(usize, f64, Option<usize>)) {
    let Pool { input_shape, output_shape, size, strides, pad_before, channels_last } = *p;
    let nd = output_shape.len();
    let ch = if channels_last { nd - 1 } else { 0 };
    let spatial: Vec<usize> = (0..nd).filter(|&d| d != ch).collect();
    let flat =
        |ix: &[usize], shape: &[usize]| ix.iter().zip(shape).fold(0, |acc, (&i, &d)| acc * d + i);
    let mut ix = vec![0usize; nd];
    let n_out: usize = output_shape.iter().product();
    for k in 0..n_out {
        let mut r = k;
        for d in (0..nd).rev() {
            ix[d] = r % output_shape[d].max(1);
            r /= output_shape[d].max(1);
        }
        let n_win: usize = size.iter().product();
        let mut best = f64::NEG_INFINITY;
        let mut best_i = None;
        for w in 0..n_win {
            let mut rem = w;
            let mut src = ix.clone();
            let mut inside = true;
            for (s, &d) in spatial.iter().enumerate().rev() {
                let off = rem % size[s].max(1);
                rem /= size[s].max(1);
                let p = (ix[d] * strides[s] + off) as isize - pad_before[s] as isize;
                if p < 0 || p as usize >= input_shape[d] {
                    inside = false;
                } else {
                    src[d] = p as usize;
                }
            }
            if inside {
                let i = flat(&src, input_shape);
                let v = x[i];
                best = best.max(v);
                if best_i.is_none() || v > x[best_i.unwrap_or(i)] {
                    best_i = Some(i);
                }
            }
        }
        f(k, best, best_i);
    }
}

/// A function of a node's input computed on the host, off the neuromorphic path: what the Keras
/// importer emits for layers with no native conversion (NengoDL's TensorNode fallback).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum HostOp {
    /// Max pooling (TensorFlow semantics: cells outside the input never win).
    MaxPool {
        /// Input shape (spatial dims and channels).
        input_shape: Vec<usize>,
        /// Output shape.
        output_shape: Vec<usize>,
        /// Window size per spatial dim.
        size: Vec<usize>,
        /// Stride per spatial dim.
        strides: Vec<usize>,
        /// Padding before each spatial dim ("same": total / 2).
        pad_before: Vec<usize>,
        /// Channels are the last axis (else the first).
        channels_last: bool,
    },
    /// Softmax along `axis` of `shape` (max-subtracted, as TensorFlow).
    Softmax {
        /// The input (and output) shape.
        shape: Vec<usize>,
        /// The axis normalised over.
        axis: usize,
    },
    /// ELU: `x` for x > 0, `alpha (e^x − 1)` otherwise.
    Elu {
        /// The negative-side scale.
        alpha: f64,
    },
    /// One Keras layer evaluated with the Keras semantics of snn-keras's evaluator
    /// (`keras_layer(class = "Subtract", …)`): any layer the evaluator computes.
    Keras(Arc<KerasLayerOp>),
}

/// A Keras layer run as a host op: its inputs are concatenated (flat, in call order) into the
/// node's input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KerasLayerOp {
    /// The layer: class, config and named weights (checked by [`crate::keras::check_layer`]).
    pub layer: crate::keras::Layer,
    /// Shape of each input (without the batch dimension), in call order.
    pub input_shapes: Vec<Vec<usize>>,
    /// Shape of the output (without the batch dimension).
    pub output_shape: Vec<usize>,
    /// Keras 3 definitions where the generations differ (`hard_sigmoid`).
    pub keras3: bool,
}

impl KerasLayerOp {
    /// The layer's output for flat inputs `x` (concatenated in call order), evaluated in `f64`
    /// with batch size 1.
    pub fn eval(&self, x: &[f64]) -> Result<ArrayD<f64>, String> {
        self.eval_in(x)
    }

    /// [`KerasLayerOp::eval`] in any [`crate::keras::Scalar`] (dual numbers differentiate it).
    pub fn eval_in<T: crate::keras::Scalar>(&self, x: &[T]) -> Result<ArrayD<T>, String> {
        let mut args = Vec::with_capacity(self.input_shapes.len());
        let mut at = 0;
        for shape in &self.input_shapes {
            let n: usize = shape.iter().product();
            let part = x.get(at..at + n).ok_or("keras_layer: input too short")?;
            at += n;
            let mut full = vec![1];
            full.extend_from_slice(shape);
            args.push(
                ArrayD::from_shape_vec(ndarray::IxDyn(&full), part.to_vec())
                    .map_err(|e| e.to_string())?,
            );
        }
        let refs: Vec<&ArrayD<T>> = args.iter().collect();
        crate::keras::apply_layer(&self.layer, &refs, self.keras3).map_err(|e| e.reason)
    }
}

impl HostOp {
    /// Its name in the language.
    pub fn name(&self) -> &'static str {
        match self {
            HostOp::MaxPool { size, .. } if size.len() == 1 => "max_pool1d",
            HostOp::MaxPool { .. } => "max_pool2d",
            HostOp::Softmax { .. } => "softmax",
            HostOp::Elu { .. } => "elu",
            HostOp::Keras(_) => "keras_layer",
        }
    }

    /// `y = op(x)` for a run in `T`: `x` widened to `f64` (in `wide.0`), [`HostOp::apply`] into
    /// zeros (`wide.1`), the result rounded to `T`. What every backend runs for a `HostFn` op.
    pub fn apply_in<T: crate::Real>(&self, x: &[T], y: &mut [T], wide: &mut (Vec<f64>, Vec<f64>)) {
        let (wx, wy) = wide;
        wx.clear();
        wx.extend(x.iter().map(|v| v.widen()));
        wy.clear();
        wy.resize(y.len(), 0.0);
        self.apply(wx, wy);
        crate::real::cast_into(wy, y);
    }

    /// A max pooling's geometry.
    fn pool(&self) -> Option<Pool<'_>> {
        match self {
            HostOp::MaxPool {
                input_shape,
                output_shape,
                size,
                strides,
                pad_before,
                channels_last,
            } => Some(Pool {
                input_shape,
                output_shape,
                size,
                strides,
                pad_before,
                channels_last: *channels_last,
            }),
            _ => None,
        }
    }

    /// The reverse mode of [`HostOp::apply`], for training: `dx += (∂y/∂x)ᵀ dy` given the
    /// input `x`, the output `y = op(x)` and `dy = ∂L/∂y`. A Keras layer is differentiated
    /// exactly by running its evaluator over dual numbers, one pass per input element
    /// ([`crate::keras::dual::vjp`]).
    pub fn backward(&self, x: &[f64], y: &[f64], dy: &[f64], dx: &mut [f64]) -> Result<(), String> {
        match self {
            HostOp::Keras(k) => crate::keras::dual::vjp(x, dy, dx, |xs| {
                Ok(k.eval_in(xs)?.iter().copied().collect())
            }),
            HostOp::Elu { alpha } => {
                for (((d, &g), &xv), &yv) in dx.iter_mut().zip(dy).zip(x).zip(y) {
                    *d += if xv > 0.0 { g } else { g * (yv + alpha) };
                }
                Ok(())
            }
            HostOp::Softmax { shape, axis } => {
                let n_axis = shape[*axis];
                let inner: usize = shape[axis + 1..].iter().product();
                let outer: usize = shape[..*axis].iter().product();
                for o in 0..outer {
                    for i in 0..inner {
                        let at = |k: usize| (o * n_axis + k) * inner + i;
                        let dot: f64 = (0..n_axis).map(|k| dy[at(k)] * y[at(k)]).sum();
                        for k in 0..n_axis {
                            dx[at(k)] += y[at(k)] * (dy[at(k)] - dot);
                        }
                    }
                }
                Ok(())
            }
            HostOp::MaxPool { .. } => {
                if let Some(pool) = self.pool() {
                    max_pool_backward(&pool, x, dy, dx);
                }
                Ok(())
            }
        }
    }

    /// `y = op(x)`; `x` and `y` are flat, row-major. (A Keras layer, whose shapes were checked
    /// when the node was declared, cannot fail; were it to, `y` would be NaN.)
    pub fn apply(&self, x: &[f64], y: &mut [f64]) {
        match self {
            HostOp::Keras(k) => match k.eval(x) {
                Ok(out) if out.len() == y.len() => {
                    for (o, &v) in y.iter_mut().zip(out.iter()) {
                        *o = v;
                    }
                }
                _ => y.iter_mut().for_each(|o| *o = f64::NAN),
            },
            HostOp::Elu { alpha } => elu(*alpha, x, y),
            HostOp::Softmax { shape, axis } => softmax(shape, *axis, x, y),
            HostOp::MaxPool { .. } => {
                if let Some(pool) = self.pool() {
                    max_pool(&pool, x, y);
                }
            }
        }
    }
}
