//! Convolution and average-pooling transforms: arguments, kernels and geometry.

use super::args::{int_list_arg, shape_of};
use crate::model::{ConvSpec, Transform};
use crate::resolve::decl::Args;
use crate::resolve::Elab;
use crate::value::{fmt_shape, Ctor, Value};
use ndarray::{ArrayD, IxDyn};
use snn_syntax::{codes, Diagnostic};

impl Elab<'_> {
    /// `conv1d/2d`, `conv_transpose1d/2d` or `avg_pool1d/2d` as a transform from `size_in` to
    /// `size_out`; `pre_shape`/`post_shape` are the ends' full shapes when known.
    pub(super) fn conv_from(
        &mut self,
        c: &Ctor,
        size_in: usize,
        size_out: usize,
        pre_shape: Option<Vec<usize>>,
        post_shape: Option<Vec<usize>>,
    ) -> Option<Transform> {
        let name = c.name.as_str();
        let n_spatial = if name.ends_with("1d") { 1 } else { 2 };
        let pool = name.starts_with("avg_pool");
        let transpose = name.starts_with("conv_transpose");
        let allowed: &[&str] = if pool {
            &["size", "strides", "padding", "channels_last", "input_shape"]
        } else {
            &[
                "kernel",
                "filters",
                "kernel_size",
                "init",
                "strides",
                "padding",
                "channels_last",
                "groups",
                "input_shape",
                "output_shape",
            ]
        };
        let mut args = Args::new(self, c, allowed)?;
        let channels_last = args.opt_bool(self, "channels_last").unwrap_or(true);
        let input_shape = match args.take("input_shape") {
            Some(a) => match shape_of(&a.value) {
                Some(s) => s,
                None => {
                    self.diags.push(Diagnostic::error(
                        codes::BAD_SHAPE,
                        "`input_shape` is a list of positive sizes",
                        a.value_span,
                        "bad shape",
                    ));
                    return None;
                }
            },
            None => match pre_shape {
                Some(s) => s,
                None => {
                    self.diags.push(
                        Diagnostic::error(
                            codes::CONV_GEOMETRY,
                            format!("`{name}` needs the full shape of its input"),
                            c.span,
                            "input is sliced or decoded",
                        )
                        .with_help("connect the whole object, or give `input_shape = [h, w, c]`"),
                    );
                    return None;
                }
            },
        };
        let in_total: usize = input_shape.iter().product();
        if input_shape.len() != n_spatial + 1 || in_total != size_in {
            self.diags.push(
                Diagnostic::error(
                    codes::CONV_GEOMETRY,
                    format!("`{name}` needs an input of {} dimensions ({} spatial + channels), found {}", n_spatial + 1, n_spatial, fmt_shape(&input_shape)),
                    c.span,
                    "wrong input rank",
                )
                .with_help("give `input_shape` to reinterpret a flat input"),
            );
            return None;
        }
        let (in_spatial, in_ch) = split_channels(&input_shape, channels_last);
        // Pooling strides default to the pool size (as Keras and NengoDL); convolutions to 1.
        let pool_size =
            if pool { Some(int_list_arg(self, &mut args, "size", n_spatial, 2)?) } else { None };
        let strides = match &pool_size {
            Some(size) if args.span_of("strides").is_none() => size.clone(),
            _ => int_list_arg(self, &mut args, "strides", n_spatial, 1)?,
        };
        let padding = match args.take("padding") {
            Some(a) => match a.value {
                Value::Str(s) if s == "valid" || s == "same" => s,
                other => {
                    self.diags.push(Diagnostic::error(
                        codes::TYPE_MISMATCH,
                        format!("`padding` is `valid` or `same`, found {}", other.describe()),
                        a.value_span,
                        "bad padding",
                    ));
                    return None;
                }
            },
            None => "valid".to_string(),
        };
        let (kernel, groups, ksize) = if let Some(size) = pool_size {
            let k: usize = size.iter().product();
            let mut shape = size.clone();
            shape.extend([1, in_ch]);
            (ArrayD::from_elem(IxDyn(&shape), 1.0 / k as f64), in_ch, size)
        } else {
            let groups = args.opt_count(self, "groups").unwrap_or(1);
            if groups == 0 || in_ch % groups != 0 {
                self.diags.push(Diagnostic::error(
                    codes::CONV_GEOMETRY,
                    format!("{in_ch} input channels cannot be split into {groups} groups"),
                    c.span,
                    "bad groups",
                ));
                return None;
            }
            let kernel = match args.take("kernel") {
                Some(a) => match a.value {
                    Value::Array(k) => {
                        let want_nd = n_spatial + 2;
                        let cin = if transpose { in_ch } else { in_ch / groups };
                        if k.ndim() != want_nd || k.shape()[n_spatial] != cin {
                            self.diags.push(
                                Diagnostic::error(
                                    codes::TENSOR_SHAPE,
                                    format!("kernel has shape {}, but `{name}` on {in_ch} channel(s) needs kernel_size + [{cin}, filters]", fmt_shape(k.shape())),
                                    a.value_span,
                                    "wrong kernel shape",
                                )
                                .with_help(format!("the input is {}", fmt_shape(&input_shape))),
                            );
                            return None;
                        }
                        k
                    }
                    other => {
                        self.diags.push(Diagnostic::error(
                            codes::TYPE_MISMATCH,
                            format!("`kernel` is an array, found {}", other.describe()),
                            a.value_span,
                            "not an array",
                        ));
                        return None;
                    }
                },
                None => {
                    let filters = args.req_count(self, "filters")?;
                    let ks = int_list_arg(self, &mut args, "kernel_size", n_spatial, 3)?;
                    let init = match args.take("init") {
                        Some(a) => {
                            match a.value {
                                Value::Num(x, _) => x,
                                other => {
                                    self.diags.push(
                                    Diagnostic::error(codes::TYPE_MISMATCH, format!("`init` for a generated kernel is a number, found {}", other.describe()), a.value_span, "here")
                                        .with_help("give the weights with `kernel = w[\"…\"]`"),
                                );
                                    return None;
                                }
                            }
                        }
                        None => 1.0,
                    };
                    let mut shape = ks;
                    shape.extend([if transpose { in_ch } else { in_ch / groups }, filters]);
                    ArrayD::from_elem(IxDyn(&shape), init)
                }
            };
            let ksize = kernel.shape()[..n_spatial].to_vec();
            (kernel, groups, ksize)
        };
        let filters = if pool { in_ch } else { kernel.shape()[n_spatial + 1] };
        let (output_shape, pad_before) = if transpose {
            let out_spatial = match args.take("output_shape") {
                Some(a) => match shape_of(&a.value) {
                    Some(s) if s.len() == n_spatial + 1 => split_channels(&s, channels_last).0,
                    _ => {
                        self.diags.push(Diagnostic::error(
                            codes::BAD_SHAPE,
                            format!("`output_shape` needs {} sizes", n_spatial + 1),
                            a.value_span,
                            "bad shape",
                        ));
                        return None;
                    }
                },
                None => in_spatial
                    .iter()
                    .zip(&strides)
                    .zip(&ksize)
                    .map(
                        |((&n, &s), &k)| {
                            if padding == "valid" {
                                (n - 1) * s + k
                            } else {
                                (n - 1) * s + 1
                            }
                        },
                    )
                    .collect(),
            };
            // The forward convolution of the output must give the input.
            let (fwd, pads) = forward_geometry(&out_spatial, &ksize, &strides, &padding);
            if fwd != in_spatial {
                self.diags.push(Diagnostic::error(
                    codes::CONV_GEOMETRY,
                    format!("a transposed convolution to spatial shape {} does not invert to the input {}", fmt_shape(&out_spatial), fmt_shape(&in_spatial)),
                    c.span,
                    "inconsistent geometry",
                ));
                return None;
            }
            (join_channels(&out_spatial, filters, channels_last), pads)
        } else {
            for (d, (&n, &k)) in in_spatial.iter().zip(&ksize).enumerate() {
                if padding == "valid" && k > n {
                    self.diags.push(
                        Diagnostic::error(codes::CONV_GEOMETRY, format!("kernel size {k} is larger than the input ({n}) along spatial dimension {d}"), c.span, "kernel does not fit")
                            .with_help(format!("the input is {}; use `padding = same` or a smaller kernel", fmt_shape(&input_shape))),
                    );
                    return None;
                }
            }
            let (out, pads) = forward_geometry(&in_spatial, &ksize, &strides, &padding);
            (join_channels(&out, filters, channels_last), pads)
        };
        args.finish(self);
        let out_total: usize = output_shape.iter().product();
        if out_total != size_out
            || post_shape.as_ref().is_some_and(|p| p.len() > 1 && *p != output_shape)
        {
            let target =
                post_shape.map(|p| fmt_shape(&p)).unwrap_or_else(|| format!("size {size_out}"));
            self.diags.push(
                Diagnostic::error(
                    codes::CONV_GEOMETRY,
                    format!(
                        "`{name}` produces {}, but the target is {target}",
                        fmt_shape(&output_shape)
                    ),
                    c.span,
                    format!("gives {}", fmt_shape(&output_shape)),
                )
                .with_help(format!(
                    "input {} with kernel {} and strides {} ({padding} padding)",
                    fmt_shape(&input_shape),
                    fmt_shape(&ksize),
                    fmt_shape(&strides)
                )),
            );
            return None;
        }
        Some(Transform::Conv(ConvSpec {
            transpose,
            input_shape,
            output_shape,
            kernel,
            strides,
            pad_before,
            channels_last,
            groups,
        }))
    }
}

/// Spatial sizes and padding before of a forward convolution.
fn forward_geometry(
    input: &[usize],
    k: &[usize],
    s: &[usize],
    padding: &str,
) -> (Vec<usize>, Vec<usize>) {
    let mut out = Vec::new();
    let mut pads = Vec::new();
    for ((&n, &k), &s) in input.iter().zip(k).zip(s) {
        if padding == "valid" {
            out.push((n + 1).saturating_sub(k).div_ceil(s).max(if k <= n { 1 } else { 0 }));
            pads.push(0);
        } else {
            let o = n.div_ceil(s);
            let total = ((o.saturating_sub(1)) * s + k).saturating_sub(n);
            out.push(o);
            pads.push(total / 2);
        }
    }
    (out, pads)
}

/// A shape's spatial sizes and channel count.
fn split_channels(shape: &[usize], channels_last: bool) -> (Vec<usize>, usize) {
    if channels_last {
        (shape[..shape.len() - 1].to_vec(), shape[shape.len() - 1])
    } else {
        (shape[1..].to_vec(), shape[0])
    }
}

/// A shape from spatial sizes and a channel count.
fn join_channels(spatial: &[usize], ch: usize, channels_last: bool) -> Vec<usize> {
    let mut v = spatial.to_vec();
    if channels_last {
        v.push(ch);
    } else {
        v.insert(0, ch);
    }
    v
}
