//! Layers that only move, repeat or average values (padding, upsampling, concatenation,
//! channels-first flattening, pooling): sparse transforms whose indices are computed here, with
//! TensorFlow's semantics (e.g. "same" average pooling divides by the cells inside the input).

use super::{Emitter, Obj};
use crate::{DataFormat, ErrorKind, KerasError, Layer, Padding};
use ndarray::{Array1, Array2};

/// Row-major flat index of `ix` in `shape`.
fn flat(ix: &[usize], shape: &[usize]) -> usize {
    ix.iter().zip(shape).fold(0, |acc, (&i, &d)| acc * d + i)
}

/// Every position of `shape`, in row-major order.
fn positions(shape: &[usize]) -> impl Iterator<Item = Vec<usize>> + '_ {
    let n: usize = shape.iter().product();
    (0..n).map(move |mut k| {
        let mut ix = vec![0; shape.len()];
        for (d, &size) in shape.iter().enumerate().rev() {
            ix[d] = k % size.max(1);
            k /= size.max(1);
        }
        ix
    })
}

/// Split a layer shape into spatial dims and the channel axis position.
fn channel_axis(l: &Layer, shape: &[usize]) -> usize {
    if l.config.data_format() == Some(DataFormat::ChannelsFirst) {
        0
    } else {
        shape.len().saturating_sub(1)
    }
}

impl Emitter<'_> {
    /// `connect pre -> target transform sparse(…)` from (out, in, value) entries.
    pub(crate) fn sparse(
        &mut self,
        l: &Layer,
        what: &str,
        pre: &Obj,
        target: &Obj,
        entries: Vec<(usize, usize, f64)>,
    ) {
        let n_out: usize = target.shape.iter().product();
        let n_in: usize = pre.shape.iter().product();
        let mut idx = Array2::<f64>::zeros((entries.len(), 2));
        let mut vals = Array1::<f64>::zeros(entries.len());
        for (k, (o, i, v)) in entries.into_iter().enumerate() {
            idx[[k, 0]] = o as f64;
            idx[[k, 1]] = i as f64;
            vals[k] = v;
        }
        let it = self.tensor(format!("{}/{what}indices", l.name), idx.into_dyn());
        let vt = self.tensor(format!("{}/{what}values", l.name), vals.into_dyn());
        let syn = self.synapse(pre);
        self.line(format!(
            "connect {} -> {}\n    transform sparse(shape = [{n_out}, {n_in}], indices = {it}, values = {vt})\n    {syn}",
            pre.name, target.name
        ));
    }

    pub(crate) fn concatenate(
        &mut self,
        l: &Layer,
        inputs: &[Obj],
        out_shape: &[usize],
    ) -> Result<Obj, KerasError> {
        let nd = out_shape.len() as i64;
        let a = l.config.axis().unwrap_or(-1);
        let axis = if a < 0 { a + nd } else { a - 1 };
        if axis < 0 || axis >= nd {
            return Err(self.err(ErrorKind::Config, &l.name, format!("bad axis {a}")));
        }
        let axis = axis as usize;
        let obj = self.node(l, out_shape, "passthrough node");
        let mut offset = 0;
        for (k, pre) in inputs.iter().enumerate() {
            let entries = positions(&pre.shape)
                .map(|ix| {
                    let mut o = ix.clone();
                    o[axis] += offset;
                    (flat(&o, out_shape), flat(&ix, &pre.shape), 1.0)
                })
                .collect();
            self.sparse(l, &format!("in{k}/"), pre, &obj, entries);
            offset += pre.shape.get(axis).copied().unwrap_or(0);
        }
        Ok(obj)
    }

    pub(crate) fn channels_first_flatten(
        &mut self,
        l: &Layer,
        pre: &Obj,
        out_shape: &[usize],
    ) -> Result<Obj, KerasError> {
        // Keras moves the channels last, then flattens.
        let mut moved = pre.shape[1..].to_vec();
        moved.push(pre.shape[0]);
        let obj = self.node(l, out_shape, "passthrough node (channels moved last)");
        let entries = positions(&pre.shape)
            .map(|ix| {
                let mut m = ix[1..].to_vec();
                m.push(ix[0]);
                (flat(&m, &moved), flat(&ix, &pre.shape), 1.0)
            })
            .collect();
        self.sparse(l, "", pre, &obj, entries);
        Ok(obj)
    }

    /// ZeroPadding and UpSampling: each output cell copies one input cell (or none).
    pub(crate) fn layout(
        &mut self,
        l: &Layer,
        pre: &Obj,
        out_shape: &[usize],
    ) -> Result<Obj, KerasError> {
        let ch = channel_axis(l, out_shape);
        let rank = out_shape.len() - 1;
        let spatial: Vec<usize> = (0..out_shape.len()).filter(|&d| d != ch).collect();
        let padding = l.class_name.starts_with("ZeroPadding");
        let pads = if padding {
            l.config
                .pad_pairs("padding", rank)
                .ok_or_else(|| self.err(ErrorKind::Config, &l.name, "unreadable padding".into()))?
        } else {
            Vec::new()
        };
        let sizes = if padding { Vec::new() } else { l.config.up_size(rank) };
        if !padding && l.config.interpolation() != "nearest" {
            return Err(self.err(
                ErrorKind::Unsupported,
                &l.name,
                format!(
                    "UpSampling with `{}` interpolation (only nearest)",
                    l.config.interpolation()
                ),
            ));
        }
        let obj =
            self.node(l, out_shape, if padding { "zero-padded node" } else { "upsampled node" });
        let mut entries = Vec::new();
        for ix in positions(out_shape) {
            let mut src = ix.clone();
            let mut inside = true;
            for (k, &d) in spatial.iter().enumerate() {
                if padding {
                    let p = pads[k].0;
                    if ix[d] < p || ix[d] - p >= pre.shape[d] {
                        inside = false;
                    } else {
                        src[d] = ix[d] - p;
                    }
                } else {
                    src[d] = ix[d] / sizes[k].max(1);
                }
            }
            if inside {
                entries.push((flat(&ix, out_shape), flat(&src, &pre.shape), 1.0));
            }
        }
        self.sparse(l, "", pre, &obj, entries);
        Ok(obj)
    }

    /// Average pooling (and MaxPooling with --max-to-avg-pool), TensorFlow's padding semantics.
    pub(crate) fn pooling(
        &mut self,
        l: &Layer,
        pre: &Obj,
        out_shape: &[usize],
    ) -> Result<Obj, KerasError> {
        let ch = channel_axis(l, out_shape);
        let rank = out_shape.len() - 1;
        let spatial: Vec<usize> = (0..out_shape.len()).filter(|&d| d != ch).collect();
        let size = l.config.pool_size(rank);
        let strides = l.config.pool_strides(rank);
        let same = l.config.padding() == Some(Padding::Same);
        let pad_before: Vec<usize> = spatial
            .iter()
            .enumerate()
            .map(|(k, &d)| {
                if !same {
                    return 0;
                }
                let total =
                    ((out_shape[d] - 1) * strides[k] + size[k]).saturating_sub(pre.shape[d]);
                total / 2
            })
            .collect();
        let obj = self.node(l, out_shape, "average-pooled node");
        let mut entries = Vec::new();
        for ix in positions(out_shape) {
            let mut cells = Vec::new();
            for window in positions(&size) {
                let mut src = ix.clone();
                let mut inside = true;
                for (k, &d) in spatial.iter().enumerate() {
                    let p = (ix[d] * strides[k] + window[k]) as isize - pad_before[k] as isize;
                    if p < 0 || p as usize >= pre.shape[d] {
                        inside = false;
                    } else {
                        src[d] = p as usize;
                    }
                }
                if inside {
                    cells.push(flat(&src, &pre.shape));
                }
            }
            let o = flat(&ix, out_shape);
            let w = 1.0 / cells.len().max(1) as f64;
            entries.extend(cells.into_iter().map(|c| (o, c, w)));
        }
        self.sparse(l, "", pre, &obj, entries);
        if l.class_name.starts_with("MaxPooling") {
            self.warnings.push(format!(
                "layer `{}`: MaxPooling converted as average pooling (--max-to-avg-pool)",
                l.name
            ));
        }
        Ok(obj)
    }

    /// Global average pooling: each channel averaged over all positions.
    pub(crate) fn global_pooling(
        &mut self,
        l: &Layer,
        pre: &Obj,
        out_shape: &[usize],
    ) -> Result<Obj, KerasError> {
        let ch = channel_axis(l, &pre.shape);
        let n_pos: usize =
            pre.shape.iter().enumerate().filter(|(d, _)| *d != ch).map(|(_, s)| s).product();
        let obj = self.node(l, out_shape, "average-pooled node");
        let w = 1.0 / n_pos.max(1) as f64;
        let entries = positions(&pre.shape).map(|ix| (ix[ch], flat(&ix, &pre.shape), w)).collect();
        self.sparse(l, "", pre, &obj, entries);
        Ok(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::{flat, positions};

    #[test]
    fn row_major() {
        let shape = [2, 3, 4];
        for (k, ix) in positions(&shape).enumerate() {
            assert_eq!(flat(&ix, &shape), k);
        }
    }
}
