//! Transforms: scalars, elementwise vectors, dense and sparse matrices (convolutions in `conv.rs`).

use super::args::vec_arg;
use crate::model::Transform;
use crate::resolve::decl::Args;
use crate::resolve::Elab;
use crate::value::{fmt_shape, Ctor, Value};
use ndarray::Array2;
use snn_syntax::{codes, Diagnostic, Span};

impl Elab<'_> {
    /// Interpret a transform for a map from `size_in` to `size_out`. For convolutions, `pre_shape`
    /// is the source's full shape (unsliced, no function) and `post_shape` the target's (an
    /// unsliced layer or node); `seed` draws a generated kernel's values.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn transform_from(
        &mut self,
        v: Value,
        span: Span,
        size_in: usize,
        size_out: usize,
        pre_shape: Option<Vec<usize>>,
        post_shape: Option<Vec<usize>>,
        stmt: Span,
        seed: u64,
    ) -> Option<Transform> {
        // a 0-d tensor (`w["scale"]` of shape []) is a scalar
        let v = match v {
            Value::Array(a) if a.ndim() == 0 => {
                Value::Num(a.first().copied().unwrap_or(0.0), crate::value::Unit::One)
            }
            v => v,
        };
        match v {
            Value::Num(x, _) => {
                if size_in != size_out {
                    self.diags.push(
                        Diagnostic::error(codes::TRANSFORM_SHAPE, format!("a scalar transform keeps the size, but this connection maps {size_in} to {size_out}"), span, "scalar")
                            .with_help(format!("use a {size_out}×{size_in} matrix")),
                    );
                    return None;
                }
                Some(Transform::Scalar(x))
            }
            Value::Array(a) if a.ndim() == 1 => {
                if a.len() != size_in || size_in != size_out {
                    self.diags.push(Diagnostic::error(
                        codes::TRANSFORM_SHAPE,
                        format!("an elementwise transform of length {} on a connection from size {size_in} to {size_out}", a.len()),
                        span,
                        format!("length {}", a.len()),
                    ));
                    return None;
                }
                Some(Transform::Elementwise(a.iter().copied().collect()))
            }
            Value::Array(a) if a.ndim() == 2 => {
                let (o, i) = (a.shape()[0], a.shape()[1]);
                if (o, i) != (size_out, size_in) {
                    let mut d = Diagnostic::error(
                        codes::TRANSFORM_SHAPE,
                        format!("transform has shape [{o}, {i}], but the connection needs [{size_out}, {size_in}] (size_out, size_in)"),
                        span,
                        format!("[{o}, {i}]"),
                    )
                    .with_label(stmt, format!("maps {size_in} → {size_out}"));
                    if (i, o) == (size_out, size_in) {
                        d = d.with_help(
                            "the matrix looks transposed: add `.T` (Keras kernels are (in, out))",
                        );
                    }
                    self.diags.push(d);
                    return None;
                }
                let m = Array2::from_shape_vec((o, i), a.iter().copied().collect()).ok()?;
                Some(Transform::Dense(m))
            }
            Value::Array(a) => {
                self.diags.push(Diagnostic::error(
                    codes::TRANSFORM_SHAPE,
                    format!(
                        "a transform is a scalar, a vector or a matrix, found shape {}",
                        fmt_shape(a.shape())
                    ),
                    span,
                    "too many dimensions",
                ));
                None
            }
            Value::Ctor(c) if c.name == "sparse" => self.sparse_from(&c, size_in, size_out),
            Value::Ctor(c) if c.name.starts_with("conv") || c.name.starts_with("avg_pool") => {
                self.conv_from(&c, size_in, size_out, pre_shape, post_shape, seed)
            }
            other => {
                self.diags.push(
                    Diagnostic::error(codes::TYPE_MISMATCH, format!("expected a transform, found {}", other.describe()), span, "not a transform")
                        .with_help("transforms: a number, a vector, a matrix, sparse(…), conv1d/conv2d(…), conv_transpose1d/2d(…), avg_pool1d/2d(…)"),
                );
                None
            }
        }
    }

    /// `sparse(shape = [o, i], indices = [[r, c], …], values = […])`, checked against the connection.
    fn sparse_from(&mut self, c: &Ctor, size_in: usize, size_out: usize) -> Option<Transform> {
        let mut args = Args::new(self, c, &["shape", "indices", "values"])?;
        let shape = vec_arg(self, &mut args, "shape", usize::MAX)?;
        let indices = args.req_array(self, "indices", usize::MAX)?;
        let values = vec_arg(self, &mut args, "values", usize::MAX)?;
        args.finish(self);
        let [o, i] = shape.as_slice() else {
            self.diags.push(Diagnostic::error(
                codes::TRANSFORM_SHAPE,
                "a sparse transform's shape is [size_out, size_in]",
                c.span,
                "bad shape",
            ));
            return None;
        };
        let (o, i) = (*o as usize, *i as usize);
        if (o, i) != (size_out, size_in) {
            self.diags.push(Diagnostic::error(
                codes::TRANSFORM_SHAPE,
                format!("sparse transform has shape [{o}, {i}], but the connection needs [{size_out}, {size_in}]"),
                c.span,
                "wrong shape",
            ));
            return None;
        }
        if indices.ndim() != 2 || indices.shape()[1] != 2 || indices.shape()[0] != values.len() {
            self.diags.push(Diagnostic::error(
                codes::TRANSFORM_SHAPE,
                format!(
                    "sparse `indices` must be [{}, 2] (one (row, col) per value), found {}",
                    values.len(),
                    fmt_shape(indices.shape())
                ),
                c.span,
                "bad indices",
            ));
            return None;
        }
        let mut idx = Vec::with_capacity(values.len());
        for row in indices.outer_iter() {
            let (r, col) = (row[0], row[1]);
            if r < 0.0
                || col < 0.0
                || r as usize >= o
                || col as usize >= i
                || r.fract() != 0.0
                || col.fract() != 0.0
            {
                self.diags.push(Diagnostic::error(
                    codes::INDEX_RANGE,
                    format!("sparse index ({r}, {col}) is outside [{o}, {i}]"),
                    c.span,
                    "out of range",
                ));
                return None;
            }
            idx.push((r as usize, col as usize));
        }
        Some(Transform::Sparse { shape: (o, i), indices: idx, values })
    }
}
