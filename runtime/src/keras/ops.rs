//! Tensor kernels with Keras/TensorFlow inference semantics: dense, N-d convolution, pooling,
//! padding, up-sampling, batch normalisation and activations. Errors are plain strings; the
//! caller attaches the file and layer.

use ndarray::{Array2, ArrayD, Axis, IxDyn, Slice};

use super::config::{DataFormat, Padding};
use super::eval::Scalar;

type R<T> = Result<T, String>;

/// Largest tensor (in elements) a layer may produce; guards against configs that would
/// exhaust memory (e.g. an absurd up-sampling factor).
pub(crate) const MAX_TENSOR_ELEMENTS: usize = 1 << 28;
/// Largest pooling window (in cells).
const MAX_WINDOW: usize = 1 << 24;

/// The element count of `shape`, refusing overflow and tensors above [`MAX_TENSOR_ELEMENTS`].
pub fn checked_size(shape: &[usize]) -> R<usize> {
    let mut n: usize = 1;
    for &d in shape {
        n = n.checked_mul(d).ok_or_else(|| format!("shape {shape:?} overflows"))?;
    }
    if n > MAX_TENSOR_ELEMENTS {
        return Err(format!("output shape {shape:?} is too large ({n} elements)"));
    }
    Ok(n)
}

/// Move the channel axis from position 1 to the end (channels_first -> channels_last).
pub(crate) fn to_channels_last<T: Scalar>(x: &ArrayD<T>) -> ArrayD<T> {
    let n = x.ndim();
    if n < 3 {
        return x.clone();
    }
    let mut perm: Vec<usize> = vec![0];
    perm.extend(2..n);
    perm.push(1);
    x.view().permuted_axes(IxDyn(&perm)).as_standard_layout().into_owned()
}

/// Move the channel axis from the end to position 1 (channels_last -> channels_first).
pub(crate) fn to_channels_first<T: Scalar>(x: &ArrayD<T>) -> ArrayD<T> {
    let n = x.ndim();
    if n < 3 {
        return x.clone();
    }
    let mut perm: Vec<usize> = vec![0, n - 1];
    perm.extend(1..n - 1);
    x.view().permuted_axes(IxDyn(&perm)).as_standard_layout().into_owned()
}

/// Input in channels_last standard layout, whatever the data format.
fn channels_last_input<T: Scalar>(x: &ArrayD<T>, df: DataFormat) -> ArrayD<T> {
    match df {
        DataFormat::ChannelsLast => x.as_standard_layout().into_owned(),
        DataFormat::ChannelsFirst => to_channels_last(x),
    }
}

fn channels_restore<T: Scalar>(y: ArrayD<T>, df: DataFormat) -> ArrayD<T> {
    match df {
        DataFormat::ChannelsLast => y,
        DataFormat::ChannelsFirst => to_channels_first(&y),
    }
}

/// Output size and leading padding of one spatial dim (TensorFlow's rules).
pub(crate) fn geometry(
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
) -> R<(usize, usize)> {
    if kernel == 0 || stride == 0 || dilation == 0 {
        return Err("kernel size, stride and dilation must be positive".into());
    }
    let overflow = || "window size overflows".to_string();
    let keff =
        (kernel - 1).checked_mul(dilation).and_then(|k| k.checked_add(1)).ok_or_else(overflow)?;
    match padding {
        Padding::Valid => {
            if input < keff {
                return Err(format!(
                    "input size {input} is smaller than the (dilated) window {keff}"
                ));
            }
            Ok(((input - keff) / stride + 1, 0))
        }
        Padding::Same => {
            let out = input.div_ceil(stride);
            let span = out
                .saturating_sub(1)
                .checked_mul(stride)
                .and_then(|v| v.checked_add(keff))
                .ok_or_else(overflow)?;
            Ok((out, span.saturating_sub(input) / 2))
        }
        Padding::Causal => {
            let pad = keff - 1;
            let total = input.checked_add(pad).ok_or_else(overflow)?;
            if total < keff {
                return Err(format!(
                    "input size {input} is too small for the causal window {keff}"
                ));
            }
            Ok(((total - keff) / stride + 1, pad))
        }
    }
}

fn prod(v: &[usize]) -> usize {
    v.iter().product()
}

/// All multi-indices of `shape` in row-major order.
fn multi_indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let n = prod(shape);
    let mut res = Vec::with_capacity(n);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..n {
        res.push(idx.clone());
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    res
}

fn cast<T: Scalar>(a: &ArrayD<f64>) -> ArrayD<T> {
    a.mapv(T::of)
}

/// Dense: `x @ kernel + bias` over the last axis.
pub(crate) fn dense<T: Scalar>(
    x: &ArrayD<T>,
    kernel: &ArrayD<f64>,
    bias: Option<&ArrayD<f64>>,
) -> R<ArrayD<T>> {
    if kernel.ndim() != 2 {
        return Err(format!("kernel has shape {:?}, expected 2-D", kernel.shape()));
    }
    let (nin, nout) = (kernel.shape()[0], kernel.shape()[1]);
    let last = *x.shape().last().ok_or("input is a scalar")?;
    if last != nin {
        return Err(format!(
            "input has {last} features on its last axis, the kernel expects {nin}"
        ));
    }
    let rows = x.len() / nin.max(1);
    let x2 = x.as_standard_layout();
    let x2 = x2.to_shape((rows, nin)).map_err(|e| e.to_string())?;
    let k: Array2<T> = kernel.mapv(T::of).into_dimensionality().map_err(|e| e.to_string())?;
    let mut y = x2.dot(&k);
    if let Some(b) = bias {
        if b.len() != nout {
            return Err(format!("bias has {} values, expected {nout}", b.len()));
        }
        let b = b.iter().map(|&v| T::of(v)).collect::<Vec<_>>();
        for mut row in y.rows_mut() {
            for (v, &bb) in row.iter_mut().zip(&b) {
                *v = *v + bb;
            }
        }
    }
    let mut shape = x.shape().to_vec();
    if let Some(l) = shape.last_mut() {
        *l = nout;
    }
    y.into_shape_with_order(IxDyn(&shape)).map_err(|e| e.to_string())
}

/// Geometry shared by convolution calls.
pub(crate) struct ConvSpec<'a> {
    pub(crate) strides: &'a [usize],
    pub(crate) dilation: &'a [usize],
    pub(crate) padding: Padding,
    pub(crate) groups: usize,
    pub(crate) data_format: DataFormat,
}

/// N-d convolution (cross-correlation, as Keras) with groups; kernel `(k..., C/groups, F)`.
pub(crate) fn conv<T: Scalar>(
    x: &ArrayD<T>,
    kernel: &ArrayD<f64>,
    bias: Option<&ArrayD<f64>>,
    spec: &ConvSpec<'_>,
) -> R<ArrayD<T>> {
    let rank = kernel.ndim().checked_sub(2).ok_or("kernel must have at least 2 dims")?;
    if x.ndim() != rank + 2 {
        return Err(format!(
            "input has shape {:?}, expected {} dims (batch, spatial, channels)",
            x.shape(),
            rank + 2
        ));
    }
    if spec.strides.len() != rank || spec.dilation.len() != rank {
        return Err("strides / dilation_rate do not match the kernel rank".into());
    }
    let xs = channels_last_input(x, spec.data_format);
    let shape = xs.shape().to_vec();
    let (b, c) = (shape[0], shape[rank + 1]);
    let sp = &shape[1..=rank];
    let kshape = kernel.shape();
    let ks = &kshape[..rank];
    let (cg, f) = (kshape[rank], kshape[rank + 1]);
    let g = spec.groups.max(1);
    if cg * g != c {
        return Err(format!(
            "input has {c} channels, kernel expects {cg} per group x {g} group(s)"
        ));
    }
    if !f.is_multiple_of(g) {
        return Err(format!("{f} filters are not divisible into {g} groups"));
    }
    let fg = f / g;
    let mut out_sp = Vec::with_capacity(rank);
    let mut pads = Vec::with_capacity(rank);
    for d in 0..rank {
        let (o, p) = geometry(sp[d], ks[d], spec.strides[d], spec.dilation[d], spec.padding)?;
        out_sp.push(o);
        pads.push(p);
    }
    let mut oshape = vec![b];
    oshape.extend(&out_sp);
    oshape.push(f);
    checked_size(&oshape)?;
    let np = prod(&out_sp);
    let kp = prod(ks);
    checked_size(&[np, kp, cg])?;
    let opos = multi_indices(&out_sp);
    let kpos = multi_indices(ks);
    // Element strides of the channels_last input (per spatial dim).
    let mut sstride = vec![c; rank];
    for d in (0..rank.saturating_sub(1)).rev() {
        sstride[d] = sstride[d + 1] * sp[d + 1];
    }
    let bstride = prod(sp) * c;
    let xd = xs.as_slice().ok_or("input not contiguous")?;
    // Kernel as (k..., cg, f) row-major -> per group (kp*cg, fg).
    let kflat: Vec<T> = kernel.as_standard_layout().iter().map(|&v| T::of(v)).collect();
    let mut kg: Vec<Array2<T>> = Vec::with_capacity(g);
    for gi in 0..g {
        let mut m = Array2::<T>::zeros((kp * cg, fg));
        for r in 0..kp * cg {
            for j in 0..fg {
                m[[r, j]] = kflat[r * f + gi * fg + j];
            }
        }
        kg.push(m);
    }
    let mut out = vec![T::zero(); b * np * f];
    let mut col = Array2::<T>::zeros((np, kp * cg));
    for bi in 0..b {
        for (gi, kmat) in kg.iter().enumerate() {
            col.fill(T::zero());
            for (p, o) in opos.iter().enumerate() {
                let mut row = col.row_mut(p);
                let row = row.as_slice_mut().ok_or("internal: column row not contiguous")?;
                'k: for (kk, kidx) in kpos.iter().enumerate() {
                    let mut off = bi * bstride + gi * cg;
                    for d in 0..rank {
                        let pos = (o[d] * spec.strides[d] + kidx[d] * spec.dilation[d]) as isize
                            - pads[d] as isize;
                        if pos < 0 || pos as usize >= sp[d] {
                            continue 'k;
                        }
                        off += pos as usize * sstride[d];
                    }
                    row[kk * cg..(kk + 1) * cg].copy_from_slice(&xd[off..off + cg]);
                }
            }
            let y = col.dot(kmat);
            for p in 0..np {
                for j in 0..fg {
                    out[(bi * np + p) * f + gi * fg + j] = y[[p, j]];
                }
            }
        }
    }
    if let Some(bias) = bias {
        if bias.len() != f {
            return Err(format!("bias has {} values, expected {f}", bias.len()));
        }
        let bv: Vec<T> = bias.iter().map(|&v| T::of(v)).collect();
        for chunk in out.chunks_mut(f) {
            for (v, &bb) in chunk.iter_mut().zip(&bv) {
                *v = *v + bb;
            }
        }
    }
    let y = ArrayD::from_shape_vec(IxDyn(&oshape), out).map_err(|e| e.to_string())?;
    Ok(channels_restore(y, spec.data_format))
}

/// Average or max pooling over `rank` spatial dims. TensorFlow's "same" average pooling
/// divides by the number of in-bounds cells; "same" max pooling ignores padded cells.
pub(crate) fn pool<T: Scalar>(
    x: &ArrayD<T>,
    pool: &[usize],
    strides: &[usize],
    padding: Padding,
    df: DataFormat,
    max: bool,
) -> R<ArrayD<T>> {
    let rank = pool.len();
    if x.ndim() != rank + 2 {
        return Err(format!("input has shape {:?}, expected {} dims", x.shape(), rank + 2));
    }
    if strides.len() != rank {
        return Err("strides do not match pool_size".into());
    }
    let xs = channels_last_input(x, df);
    let shape = xs.shape().to_vec();
    let (b, c) = (shape[0], shape[rank + 1]);
    let sp = &shape[1..=rank];
    let mut out_sp = Vec::with_capacity(rank);
    let mut pads = Vec::with_capacity(rank);
    for d in 0..rank {
        let (o, p) = geometry(sp[d], pool[d], strides[d], 1, padding)?;
        out_sp.push(o);
        pads.push(p);
    }
    let mut oshape = vec![b];
    oshape.extend(&out_sp);
    oshape.push(c);
    checked_size(&oshape)?;
    let window =
        pool.iter().try_fold(1usize, |a, &p| a.checked_mul(p)).filter(|&w| w <= MAX_WINDOW);
    if window.is_none() {
        return Err(format!("pool window {pool:?} is too large"));
    }
    let np = prod(&out_sp);
    let opos = multi_indices(&out_sp);
    let kpos = multi_indices(pool);
    let mut sstride = vec![c; rank];
    for d in (0..rank.saturating_sub(1)).rev() {
        sstride[d] = sstride[d + 1] * sp[d + 1];
    }
    let bstride = prod(sp) * c;
    let xd = xs.as_slice().ok_or("input not contiguous")?;
    let mut out = vec![T::zero(); b * np * c];
    let mut acc = vec![T::zero(); c];
    for bi in 0..b {
        for (p, o) in opos.iter().enumerate() {
            let mut count = 0usize;
            for a in acc.iter_mut() {
                *a = if max { T::neg_infinity() } else { T::zero() };
            }
            'k: for kidx in &kpos {
                let mut off = bi * bstride;
                for d in 0..rank {
                    let pos = (o[d] * strides[d] + kidx[d]) as isize - pads[d] as isize;
                    if pos < 0 || pos as usize >= sp[d] {
                        continue 'k;
                    }
                    off += pos as usize * sstride[d];
                }
                count += 1;
                for (a, &v) in acc.iter_mut().zip(&xd[off..off + c]) {
                    *a = if max {
                        if v > *a || v.is_nan() {
                            v
                        } else {
                            *a
                        }
                    } else {
                        *a + v
                    };
                }
            }
            let dst = &mut out[(bi * np + p) * c..(bi * np + p + 1) * c];
            for (d, &a) in dst.iter_mut().zip(&acc) {
                *d = if max { a } else { a / T::of(count.max(1) as f64) };
            }
        }
    }
    let y = ArrayD::from_shape_vec(IxDyn(&oshape), out).map_err(|e| e.to_string())?;
    Ok(channels_restore(y, df))
}

/// Global average / max pooling over all spatial axes.
pub(crate) fn global_pool<T: Scalar>(
    x: &ArrayD<T>,
    df: DataFormat,
    keepdims: bool,
    max: bool,
) -> R<ArrayD<T>> {
    if x.ndim() < 3 {
        return Err(format!(
            "input has shape {:?}, expected (batch, spatial..., channels)",
            x.shape()
        ));
    }
    let xs = channels_last_input(x, df);
    let n = xs.ndim();
    let (b, c) = (xs.shape()[0], xs.shape()[n - 1]);
    let cells = xs.len() / (b * c).max(1);
    let flat = xs.to_shape((b, cells, c)).map_err(|e| e.to_string())?;
    let y = if max {
        flat.fold_axis(Axis(1), T::neg_infinity(), |&a, &v| if v > a || v.is_nan() { v } else { a })
    } else {
        flat.sum_axis(Axis(1)).mapv(|s| s / T::of(cells.max(1) as f64))
    };
    let mut y = y.into_dyn();
    if keepdims {
        let mut shape = vec![b];
        shape.extend(std::iter::repeat_n(1, n - 2));
        shape.push(c);
        y = y.into_shape_with_order(IxDyn(&shape)).map_err(|e| e.to_string())?;
        y = channels_restore(y, df);
    }
    Ok(y)
}

/// Inference batch normalisation over `axes` (non-negative, batch excluded):
/// `y = x * inv + (beta - mean * inv)` with `inv = gamma / sqrt(var + eps)`.
pub(crate) fn batch_norm<T: Scalar>(
    x: &ArrayD<T>,
    axes: &[usize],
    gamma: Option<&ArrayD<f64>>,
    beta: Option<&ArrayD<f64>>,
    mean: &ArrayD<f64>,
    var: &ArrayD<f64>,
    eps: f64,
) -> R<ArrayD<T>> {
    let mut pshape: Vec<usize> = Vec::with_capacity(axes.len());
    for &a in axes {
        pshape.push(
            *x.shape()
                .get(a)
                .ok_or_else(|| format!("axis {a} out of range for shape {:?}", x.shape()))?,
        );
    }
    let n = prod(&pshape);
    for (what, p) in [
        ("gamma", gamma),
        ("beta", beta),
        ("moving_mean", Some(mean)),
        ("moving_variance", Some(var)),
    ] {
        if let Some(p) = p {
            if p.len() != n {
                return Err(format!("{what} has {} values, the normalised axes hold {n}", p.len()));
            }
        }
    }
    // TensorFlow computes in the layer dtype: inv = rsqrt(var + eps) * gamma.
    let mut inv: Vec<T> = Vec::with_capacity(n);
    let mut shift: Vec<T> = Vec::with_capacity(n);
    let (vs, ms) = (var.iter().collect::<Vec<_>>(), mean.iter().collect::<Vec<_>>());
    let gs: Option<Vec<&f64>> = gamma.map(|g| g.iter().collect());
    let bs: Option<Vec<&f64>> = beta.map(|b| b.iter().collect());
    for i in 0..n {
        let mut v = T::one() / (T::of(*vs[i]) + T::of(eps)).sqrt();
        if let Some(g) = &gs {
            v = v * T::of(*g[i]);
        }
        let b = bs.as_ref().map_or(T::zero(), |b| T::of(*b[i]));
        shift.push(b - T::of(*ms[i]) * v);
        inv.push(v);
    }
    let mut bshape = vec![1usize; x.ndim()];
    for (&a, &d) in axes.iter().zip(&pshape) {
        bshape[a] = d;
    }
    let inv = ArrayD::from_shape_vec(IxDyn(&bshape), inv).map_err(|e| e.to_string())?;
    let shift = ArrayD::from_shape_vec(IxDyn(&bshape), shift).map_err(|e| e.to_string())?;
    Ok(x * &inv + &shift)
}

/// Zero padding of the spatial dims; `pads` are (before, after) per spatial dim.
pub(crate) fn zero_pad<T: Scalar>(
    x: &ArrayD<T>,
    pads: &[(usize, usize)],
    df: DataFormat,
) -> R<ArrayD<T>> {
    let rank = pads.len();
    if x.ndim() != rank + 2 {
        return Err(format!("input has shape {:?}, expected {} dims", x.shape(), rank + 2));
    }
    let first = match df {
        DataFormat::ChannelsLast => 1,
        DataFormat::ChannelsFirst => 2,
    };
    let mut shape = x.shape().to_vec();
    for (d, &(a, b)) in pads.iter().enumerate() {
        shape[first + d] = a
            .checked_add(b)
            .and_then(|p| p.checked_add(shape[first + d]))
            .ok_or("padding overflows")?;
    }
    checked_size(&shape)?;
    let mut y = ArrayD::<T>::zeros(IxDyn(&shape));
    let mut view = y.view_mut();
    for (d, &(a, _)) in pads.iter().enumerate() {
        let n = x.shape()[first + d];
        view.slice_axis_inplace(Axis(first + d), Slice::from(a..a + n));
    }
    view.assign(x);
    Ok(y)
}

/// Cropping of the spatial dims; `crops` are (before, after) per spatial dim.
pub(crate) fn crop<T: Scalar>(
    x: &ArrayD<T>,
    crops: &[(usize, usize)],
    df: DataFormat,
) -> R<ArrayD<T>> {
    let rank = crops.len();
    if x.ndim() != rank + 2 {
        return Err(format!("input has shape {:?}, expected {} dims", x.shape(), rank + 2));
    }
    let first = match df {
        DataFormat::ChannelsLast => 1,
        DataFormat::ChannelsFirst => 2,
    };
    let mut v = x.view();
    for (d, &(a, b)) in crops.iter().enumerate() {
        let n = x.shape()[first + d];
        if a.checked_add(b).is_none_or(|ab| ab > n) {
            return Err(format!("cropping {a}+{b} exceeds size {n}"));
        }
        v.slice_axis_inplace(Axis(first + d), Slice::from(a..n - b));
    }
    Ok(v.to_owned())
}

/// Nearest-neighbour up-sampling by integer factors along the spatial dims.
pub(crate) fn upsample<T: Scalar>(x: &ArrayD<T>, size: &[usize], df: DataFormat) -> R<ArrayD<T>> {
    let rank = size.len();
    if x.ndim() != rank + 2 {
        return Err(format!("input has shape {:?}, expected {} dims", x.shape(), rank + 2));
    }
    let first = match df {
        DataFormat::ChannelsLast => 1,
        DataFormat::ChannelsFirst => 2,
    };
    let mut shape = x.shape().to_vec();
    for (d, &r) in size.iter().enumerate() {
        shape[first + d] = shape[first + d].checked_mul(r).ok_or("up-sampling size overflows")?;
    }
    checked_size(&shape)?;
    let mut y = x.clone();
    for (d, &r) in size.iter().enumerate() {
        let n = y.shape()[first + d];
        let idx: Vec<usize> = (0..n * r).map(|i| i / r.max(1)).collect();
        y = y.select(Axis(first + d), &idx);
    }
    Ok(y)
}

/// Flatten to (batch, -1); channels_first inputs are first moved to channels_last order, as Keras does.
pub(crate) fn flatten<T: Scalar>(x: &ArrayD<T>, df: DataFormat) -> R<ArrayD<T>> {
    let xs = match df {
        DataFormat::ChannelsFirst if x.ndim() >= 3 => to_channels_last(x),
        _ => x.as_standard_layout().into_owned(),
    };
    let b = *xs.shape().first().ok_or("input is a scalar")?;
    let n = xs.len() / b.max(1);
    xs.into_shape_with_order(IxDyn(&[b, n])).map_err(|e| e.to_string())
}

/// Reshape to (batch, *target) where target may contain one -1.
pub(crate) fn reshape<T: Scalar>(x: &ArrayD<T>, target: &[i64]) -> R<ArrayD<T>> {
    let b = *x.shape().first().ok_or("input is a scalar")?;
    let per = x.len() / b.max(1);
    let known = target
        .iter()
        .filter(|&&d| d >= 0)
        .try_fold(1usize, |a, &d| a.checked_mul(d as usize))
        .ok_or_else(|| format!("target shape {target:?} overflows"))?;
    let n_unknown = target.iter().filter(|&&d| d < 0).count();
    let mut shape = vec![b];
    for &d in target {
        if d >= 0 {
            shape.push(d as usize);
        } else {
            if n_unknown != 1 || known == 0 || !per.is_multiple_of(known) {
                return Err(format!("cannot reshape {per} values per sample to {target:?}"));
            }
            shape.push(per / known);
        }
    }
    if prod(&shape[1..]) != per {
        return Err(format!("cannot reshape {:?} to {target:?}", &x.shape()[1..]));
    }
    x.as_standard_layout()
        .into_owned()
        .into_shape_with_order(IxDyn(&shape))
        .map_err(|e| e.to_string())
}

/// Softmax along `axis`.
pub(crate) fn softmax<T: Scalar>(x: &ArrayD<T>, axis: usize) -> ArrayD<T> {
    let mut y = x.clone();
    for mut lane in y.lanes_mut(Axis(axis)) {
        let m = lane.iter().fold(T::neg_infinity(), |a, &v| if v > a { v } else { a });
        lane.mapv_inplace(|v| (v - m).exp());
        let s = lane.iter().fold(T::zero(), |a, &v| a + v);
        lane.mapv_inplace(|v| v / s);
    }
    y
}

/// Log-softmax along `axis`.
pub(crate) fn log_softmax<T: Scalar>(x: &ArrayD<T>, axis: usize) -> ArrayD<T> {
    let mut y = x.clone();
    for mut lane in y.lanes_mut(Axis(axis)) {
        let m = lane.iter().fold(T::neg_infinity(), |a, &v| if v > a { v } else { a });
        let s = lane.iter().fold(T::zero(), |a, &v| a + (v - m).exp());
        let l = s.ln();
        lane.mapv_inplace(|v| v - m - l);
    }
    y
}

fn sigmoid<T: Scalar>(v: T) -> T {
    T::one() / (T::one() + (-v).exp())
}

fn softplus<T: Scalar>(v: T) -> T {
    v.max(T::zero()) + (-v.abs()).exp().ln_1p()
}

fn elu<T: Scalar>(v: T, alpha: T) -> T {
    if v > T::zero() {
        v
    } else {
        alpha * v.exp_m1()
    }
}

fn relu6<T: Scalar>(v: T) -> T {
    v.max(T::zero()).min(T::of(6.0))
}

/// Whether `name` is an activation [`activation`] implements.
pub fn is_known_activation(name: &str) -> bool {
    matches!(
        name,
        "linear"
            | "relu"
            | "sigmoid"
            | "tanh"
            | "softmax"
            | "log_softmax"
            | "elu"
            | "selu"
            | "softplus"
            | "softsign"
            | "swish"
            | "silu"
            | "gelu"
            | "exponential"
            | "relu6"
            | "hard_sigmoid"
            | "hard_silu"
            | "hard_swish"
            | "leaky_relu"
            | "mish"
    )
}

/// Apply a Keras activation by name. `keras3` selects Keras 3 definitions where the two
/// generations differ (`hard_sigmoid`, `gelu`).
pub(crate) fn activation<T: Scalar>(name: &str, x: ArrayD<T>, keras3: bool) -> R<ArrayD<T>> {
    let last = x.ndim().saturating_sub(1);
    Ok(match name {
        "linear" => x,
        "relu" => x.mapv(|v| v.max(T::zero())),
        "sigmoid" => x.mapv(sigmoid),
        "tanh" => x.mapv(T::tanh),
        "softmax" => softmax(&x, last),
        "log_softmax" => log_softmax(&x, last),
        "elu" => x.mapv(|v| elu(v, T::one())),
        "selu" => {
            let (a, s) = (T::of(1.673_263_242_354_377_3), T::of(1.050_700_987_355_480_5));
            x.mapv(|v| s * elu(v, a))
        }
        "softplus" => x.mapv(softplus),
        "softsign" => x.mapv(|v| v / (T::one() + v.abs())),
        "swish" | "silu" => x.mapv(|v| v * sigmoid(v)),
        // tf.nn.gelu (exact form) casts its constant through float32 in every precision:
        // TF 2.12 (Keras 2) computes 0.5·x·(1 + erf(x / √2)), TF 2.16+ (Keras 3)
        // 0.5·x·erfc(−x / √2)
        "gelu" if keras3 => {
            let c = T::of(f64::from(std::f64::consts::FRAC_1_SQRT_2 as f32));
            x.mapv(|v| T::of(0.5) * v * (-v * c).erfc())
        }
        "gelu" => {
            let c = T::of(f64::from(std::f64::consts::SQRT_2 as f32));
            x.mapv(|v| T::of(0.5) * v * (T::one() + (v / c).erf()))
        }
        "exponential" => x.mapv(T::exp),
        "relu6" => x.mapv(relu6),
        "hard_sigmoid" if keras3 => x.mapv(|v| relu6(v + T::of(3.0)) / T::of(6.0)),
        "hard_sigmoid" => x.mapv(|v| (T::of(0.2) * v + T::of(0.5)).max(T::zero()).min(T::one())),
        "hard_silu" | "hard_swish" => x.mapv(|v| v * relu6(v + T::of(3.0)) / T::of(6.0)),
        "leaky_relu" => x.mapv(|v| if v > T::zero() { v } else { T::of(f64::from(0.2f32)) * v }),
        "mish" => x.mapv(|v| v * softplus(v).tanh()),
        other => return Err(format!("activation `{other}` is not supported")),
    })
}

/// Keras ReLU layer: `max_value` clip, `threshold`, `negative_slope` below the threshold.
pub(crate) fn relu_layer<T: Scalar>(
    x: &ArrayD<T>,
    negative_slope: f64,
    max_value: Option<f64>,
    threshold: f64,
) -> ArrayD<T> {
    let (ns, th) = (T::of(negative_slope), T::of(threshold));
    let mv = max_value.map(T::of);
    x.mapv(|v| {
        let y = if v > th {
            v
        } else if ns != T::zero() {
            ns * (v - th)
        } else {
            T::zero()
        };
        match mv {
            Some(m) if y > m => m,
            _ => y,
        }
    })
}

/// Keras LeakyReLU layer.
pub(crate) fn leaky_relu<T: Scalar>(x: &ArrayD<T>, alpha: f64) -> ArrayD<T> {
    let a = T::of(alpha);
    x.mapv(|v| if v > T::zero() { v } else { a * v })
}

/// Keras ELU layer.
pub(crate) fn elu_layer<T: Scalar>(x: &ArrayD<T>, alpha: f64) -> ArrayD<T> {
    let a = T::of(alpha);
    x.mapv(|v| elu(v, a))
}

/// Keras PReLU layer: `alpha` broadcast over the non-batch dims.
pub(crate) fn prelu<T: Scalar>(x: &ArrayD<T>, alpha: &ArrayD<f64>) -> R<ArrayD<T>> {
    let a: ArrayD<T> = cast(alpha);
    let a = a.broadcast(IxDyn(&x.shape()[1..])).ok_or_else(|| {
        format!("alpha of shape {:?} does not broadcast to {:?}", alpha.shape(), &x.shape()[1..])
    })?;
    let mut y = x.clone();
    for mut sample in y.outer_iter_mut() {
        ndarray::Zip::from(&mut sample).and(&a).for_each(|v, &al| {
            if *v < T::zero() {
                *v = al * *v;
            }
        });
    }
    Ok(y)
}

/// A depthwise kernel `(k..., C, M)` as the grouped-convolution kernel `(k..., 1, C·M)` of a
/// convolution with `C` groups: output channel `c·M + m` is input channel `c` through `[.., c, m]`.
pub fn depthwise_as_grouped(kernel: &ArrayD<f64>) -> R<ArrayD<f64>> {
    let nd = kernel.ndim();
    if nd < 3 {
        return Err(format!(
            "depthwise kernel has shape {:?}, expected k... x C x M",
            kernel.shape()
        ));
    }
    let mut shape = kernel.shape()[..nd - 2].to_vec();
    let (c, m) = (kernel.shape()[nd - 2], kernel.shape()[nd - 1]);
    shape.extend([1, c * m]);
    kernel
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order(IxDyn(&shape))
        .map_err(|e| e.to_string())
}

/// Keras's `deconv_output_length`: the output size of a transposed convolution along one dim.
pub fn deconv_output_length(
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
    output_padding: Option<usize>,
) -> R<usize> {
    let k = (kernel.max(1) - 1) * dilation.max(1) + 1;
    let len = match (output_padding, padding) {
        (None, Padding::Valid) => input * stride + k.saturating_sub(stride),
        (None, _) => input * stride,
        (Some(op), p) => {
            let pad = if p == Padding::Same { k / 2 } else { 0 };
            ((input.max(1) - 1) * stride + k + op)
                .checked_sub(2 * pad)
                .ok_or("output_padding gives a negative size")?
        }
    };
    if len == 0 {
        return Err("the transposed convolution has an empty output".into());
    }
    Ok(len)
}

/// Transposed convolution (TensorFlow's `conv_transpose`, the gradient of a forward
/// convolution): kernel `(k..., F, C)`, output spatial sizes `out_sp`; the padding before is
/// the forward convolution's from the output to the input.
pub(crate) fn conv_transpose<T: Scalar>(
    x: &ArrayD<T>,
    kernel: &ArrayD<f64>,
    bias: Option<&ArrayD<f64>>,
    spec: &ConvSpec<'_>,
    out_sp: &[usize],
) -> R<ArrayD<T>> {
    let rank = kernel.ndim().checked_sub(2).ok_or("kernel must have at least 2 dims")?;
    if x.ndim() != rank + 2 || out_sp.len() != rank {
        return Err(format!("input has shape {:?}, expected {} dims", x.shape(), rank + 2));
    }
    if spec.strides.len() != rank || spec.dilation.len() != rank {
        return Err("strides / dilation_rate do not match the kernel rank".into());
    }
    let xs = channels_last_input(x, spec.data_format);
    let shape = xs.shape().to_vec();
    let (b, c) = (shape[0], shape[rank + 1]);
    let sp = &shape[1..=rank];
    let ks = &kernel.shape()[..rank];
    let (f, kc) = (kernel.shape()[rank], kernel.shape()[rank + 1]);
    if kc != c {
        return Err(format!("input has {c} channels, the kernel expects {kc}"));
    }
    let mut pads = Vec::with_capacity(rank);
    for d in 0..rank {
        let keff = (ks[d] - 1) * spec.dilation[d] + 1;
        let pad = match spec.padding {
            Padding::Same => {
                ((sp[d].max(1) - 1) * spec.strides[d] + keff).saturating_sub(out_sp[d]) / 2
            }
            _ => 0,
        };
        pads.push(pad);
    }
    let mut oshape = vec![b];
    oshape.extend(out_sp);
    oshape.push(f);
    checked_size(&oshape)?;
    checked_size(&[prod(sp), prod(ks), c, f])?;
    let kd: Vec<T> = kernel.as_standard_layout().iter().map(|&v| T::of(v)).collect();
    let xd = xs.as_slice().ok_or("input not contiguous")?;
    let np_in = prod(sp);
    let np_out = prod(out_sp);
    let ipos = multi_indices(sp);
    let kpos = multi_indices(ks);
    let mut ostride = vec![1usize; rank];
    for d in (0..rank.saturating_sub(1)).rev() {
        ostride[d] = ostride[d + 1] * out_sp[d + 1];
    }
    let mut out = vec![T::zero(); b * np_out * f];
    for bi in 0..b {
        for (p, i) in ipos.iter().enumerate() {
            let xrow = &xd[(bi * np_in + p) * c..(bi * np_in + p + 1) * c];
            'k: for (kk, kidx) in kpos.iter().enumerate() {
                let mut o = 0usize;
                for d in 0..rank {
                    let pos = (i[d] * spec.strides[d] + kidx[d] * spec.dilation[d]) as isize
                        - pads[d] as isize;
                    if pos < 0 || pos as usize >= out_sp[d] {
                        continue 'k;
                    }
                    o += pos as usize * ostride[d];
                }
                let orow = &mut out[(bi * np_out + o) * f..(bi * np_out + o + 1) * f];
                let kblock = &kd[kk * f * c..(kk + 1) * f * c];
                for (fi, ov) in orow.iter_mut().enumerate() {
                    let krow = &kblock[fi * c..(fi + 1) * c];
                    let mut acc = T::zero();
                    for (&xv, &kv) in xrow.iter().zip(krow) {
                        acc = acc + xv * kv;
                    }
                    *ov = *ov + acc;
                }
            }
        }
    }
    if let Some(bias) = bias {
        if bias.len() != f {
            return Err(format!("bias has {} values, expected {f}", bias.len()));
        }
        let bv: Vec<T> = bias.iter().map(|&v| T::of(v)).collect();
        for chunk in out.chunks_mut(f) {
            for (v, &bb) in chunk.iter_mut().zip(&bv) {
                *v = *v + bb;
            }
        }
    }
    let y = ArrayD::from_shape_vec(IxDyn(&oshape), out).map_err(|e| e.to_string())?;
    Ok(channels_restore(y, spec.data_format))
}

/// A parameter vector over the kept `axes` (batch-inclusive, positive) of `x`, reshaped to
/// broadcast against `x` (size 1 elsewhere, batch included).
pub(crate) fn over_axes<T: Scalar>(
    x: &ArrayD<T>,
    axes: &[usize],
    p: &ArrayD<f64>,
    what: &str,
) -> R<ArrayD<T>> {
    let mut bshape = vec![1usize; x.ndim()];
    for &a in axes {
        bshape[a] = *x.shape().get(a).ok_or_else(|| format!("axis {a} out of range"))?;
    }
    let n = prod(&bshape);
    if p.len() == 1 {
        return Ok(ArrayD::from_elem(
            IxDyn(&vec![1; x.ndim()]),
            T::of(p.iter().next().copied().unwrap_or(0.0)),
        ));
    }
    if p.len() != n {
        return Err(format!(
            "{what} has {} values, the axes {axes:?} of {:?} hold {n}",
            p.len(),
            x.shape()
        ));
    }
    let v: Vec<T> = p.iter().map(|&v| T::of(v)).collect();
    ArrayD::from_shape_vec(IxDyn(&bshape), v).map_err(|e| e.to_string())
}

/// Keras `Normalization` (inference): `(x - mean) / max(sqrt(var), 1e-7)`, or its inverse.
pub(crate) fn normalize<T: Scalar>(
    x: &ArrayD<T>,
    axes: &[usize],
    mean: &ArrayD<f64>,
    var: &ArrayD<f64>,
    invert: bool,
) -> R<ArrayD<T>> {
    let m = over_axes(x, axes, mean, "mean")?;
    let v = over_axes(x, axes, var, "variance")?;
    let eps = T::of(1e-7);
    let sd = v.mapv(|v| v.sqrt().max(eps));
    Ok(if invert { &m + &(x * &sd) } else { &(x - &m) / &sd })
}

/// Keras `LayerNormalization` over `axes` (batch-inclusive, positive): moments over the axes,
/// then `(x - mean) / sqrt(var + eps) * gamma + beta`; with `rms`, `x / sqrt(mean(x²) + eps) * gamma`.
pub(crate) fn layer_norm<T: Scalar>(
    x: &ArrayD<T>,
    axes: &[usize],
    gamma: Option<&ArrayD<f64>>,
    beta: Option<&ArrayD<f64>>,
    eps: f64,
    rms: bool,
) -> R<ArrayD<T>> {
    let nd = x.ndim();
    // move the normalised axes last and flatten them
    let mut perm: Vec<usize> = (0..nd).filter(|a| !axes.contains(a)).collect();
    let mut sorted = axes.to_vec();
    sorted.sort_unstable();
    perm.extend(&sorted);
    let xp = x.view().permuted_axes(IxDyn(&perm)).as_standard_layout().into_owned();
    let inner: usize = sorted.iter().map(|&a| x.shape()[a]).product();
    let outer = x.len() / inner.max(1);
    let flat = xp.as_slice().ok_or("not contiguous")?;
    let g = gamma.map(|g| over_axes(x, &sorted, g, "gamma")).transpose()?;
    let bt = beta.map(|b| over_axes(x, &sorted, b, "beta")).transpose()?;
    let mut out = Vec::with_capacity(flat.len());
    let n = T::of(inner as f64);
    for row in flat.chunks(inner.max(1)).take(outer) {
        let mean = if rms { T::zero() } else { row.iter().fold(T::zero(), |a, &v| a + v) / n };
        let var = row.iter().fold(T::zero(), |a, &v| a + (v - mean) * (v - mean)) / n;
        let inv = T::one() / (var + T::of(eps)).sqrt();
        out.extend(row.iter().map(|&v| (v - mean) * inv));
    }
    let yp = ArrayD::from_shape_vec(xp.raw_dim(), out).map_err(|e| e.to_string())?;
    let mut inv_perm = vec![0usize; nd];
    for (i, &p) in perm.iter().enumerate() {
        inv_perm[p] = i;
    }
    let mut y = yp.view().permuted_axes(IxDyn(&inv_perm)).as_standard_layout().into_owned();
    if let Some(g) = g {
        y = &y * &g;
    }
    if let Some(b) = bt {
        y = &y + &b;
    }
    Ok(y)
}
