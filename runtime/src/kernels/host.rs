//! Host functions of nodes (`max_pool2d`, `softmax`, `elu`): plain `f64` kernels over flat,
//! row-major arrays, what every backend runs for a `HostFn` op.

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
    let Pool { input_shape, output_shape, size, strides, pad_before, channels_last } = *p;
    let nd = output_shape.len();
    let ch = if channels_last { nd - 1 } else { 0 };
    let spatial: Vec<usize> = (0..nd).filter(|&d| d != ch).collect();
    let flat =
        |ix: &[usize], shape: &[usize]| ix.iter().zip(shape).fold(0, |acc, (&i, &d)| acc * d + i);
    let mut ix = vec![0usize; nd];
    for (k, out) in y.iter_mut().enumerate() {
        let mut r = k;
        for d in (0..nd).rev() {
            ix[d] = r % output_shape[d].max(1);
            r /= output_shape[d].max(1);
        }
        let n_win: usize = size.iter().product();
        let mut best = f64::NEG_INFINITY;
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
                best = best.max(x[flat(&src, input_shape)]);
            }
        }
        *out = best;
    }
}
