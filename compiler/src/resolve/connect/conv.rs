//! Convolution and average-pooling transforms: arguments, kernels and geometry.

use super::args::{int_list_arg, shape_of};
use crate::model::{ConvSpec, Transform};
use crate::resolve::decl::Args;
use crate::resolve::Elab;
use crate::value::{fmt_shape, Ctor, Value};
use ndarray::{ArrayD, IxDyn};
use snn_syntax::{codes, Diagnostic};

/// A convolution's layout and geometry, as read from its arguments.
struct Geometry {
    n_spatial: usize,
    channels_last: bool,
    input_shape: Vec<usize>,
    in_spatial: Vec<usize>,
    ksize: Vec<usize>,
    strides: Vec<usize>,
    padding: String,
    filters: usize,
}

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
        seed: u64,
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
        let input_shape = self.conv_input_shape(c, &mut args, pre_shape, n_spatial, size_in)?;
        let (in_spatial, in_ch) = split_channels(&input_shape, channels_last);
        // Pooling strides default to the pool size (as Keras and NengoDL); convolutions to 1.
        let pool_size =
            if pool { Some(int_list_arg(self, &mut args, "size", n_spatial, 2)?) } else { None };
        let strides = match &pool_size {
            Some(size) if args.span_of("strides").is_none() => size.clone(),
            _ => int_list_arg(self, &mut args, "strides", n_spatial, 1)?,
        };
        let padding = self.padding_arg(&mut args)?;
        let (kernel, groups, ksize) = if let Some(size) = pool_size {
            let k: usize = size.iter().product();
            let mut shape = size.clone();
            shape.extend([1, in_ch]);
            (ArrayD::from_elem(IxDyn(&shape), 1.0 / k as f64), in_ch, size)
        } else {
            let (kernel, groups) =
                self.conv_kernel(c, &mut args, n_spatial, transpose, in_ch, &input_shape, seed)?;
            let ksize = kernel.shape()[..n_spatial].to_vec();
            (kernel, groups, ksize)
        };
        let filters = if pool { in_ch } else { kernel.shape()[n_spatial + 1] };
        let g = Geometry {
            n_spatial,
            channels_last,
            input_shape,
            in_spatial,
            ksize,
            strides,
            padding,
            filters,
        };
        let (output_shape, pad_before) = if transpose {
            self.transposed_output(c, &mut args, &g)?
        } else {
            self.forward_output(c, &g)?
        };
        args.finish(self);
        if !self.conv_fits_target(c, &g, &output_shape, size_out, post_shape) {
            return None;
        }
        Some(Transform::Conv(ConvSpec {
            transpose,
            input_shape: g.input_shape,
            output_shape,
            kernel,
            strides: g.strides,
            pad_before,
            channels_last,
            groups,
        }))
    }

    /// The input's shape (`input_shape`, else the source's), with its rank and size checked.
    fn conv_input_shape(
        &mut self,
        c: &Ctor,
        args: &mut Args,
        pre_shape: Option<Vec<usize>>,
        n_spatial: usize,
        size_in: usize,
    ) -> Option<Vec<usize>> {
        let name = c.name.as_str();
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
        Some(input_shape)
    }

    /// `padding = valid` (the default) or `padding = same`.
    fn padding_arg(&mut self, args: &mut Args) -> Option<String> {
        match args.take("padding") {
            Some(a) => match a.value {
                Value::Str(s) if s == "valid" || s == "same" => Some(s),
                other => {
                    self.diags.push(Diagnostic::error(
                        codes::TYPE_MISMATCH,
                        format!("`padding` is `valid` or `same`, found {}", other.describe()),
                        a.value_span,
                        "bad padding",
                    ));
                    None
                }
            },
            None => Some("valid".to_string()),
        }
    }

    /// A convolution's kernel (given, or generated from `filters` and `kernel_size`) and groups.
    #[allow(clippy::too_many_arguments)] // the geometry resolved so far, passed on
    fn conv_kernel(
        &mut self,
        c: &Ctor,
        args: &mut Args,
        n_spatial: usize,
        transpose: bool,
        in_ch: usize,
        input_shape: &[usize],
        seed: u64,
    ) -> Option<(ArrayD<f64>, usize)> {
        let name = c.name.as_str();
        let groups = args.opt_count(self, "groups").unwrap_or(1);
        if groups == 0 || !in_ch.is_multiple_of(groups) {
            self.diags.push(Diagnostic::error(
                codes::CONV_GEOMETRY,
                format!("{in_ch} input channels cannot be split into {groups} groups"),
                c.span,
                "bad groups",
            ));
            return None;
        }
        let cin = if transpose { in_ch } else { in_ch / groups };
        let kernel = match args.take("kernel") {
            Some(a) => match a.value {
                Value::Array(k) => {
                    let want_nd = n_spatial + 2;
                    if k.ndim() != want_nd || k.shape()[n_spatial] != cin {
                        self.diags.push(
                            Diagnostic::error(
                                codes::TENSOR_SHAPE,
                                format!("kernel has shape {}, but `{name}` on {in_ch} channel(s) needs kernel_size + [{cin}, filters]", fmt_shape(k.shape())),
                                a.value_span,
                                "wrong kernel shape",
                            )
                            .with_help(format!("the input is {}", fmt_shape(input_shape))),
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
            None => self.generated_kernel(args, n_spatial, cin, seed)?,
        };
        Some((kernel, groups))
    }

    /// A kernel of `kernel_size` + [`cin`, `filters`] filled with `init`: a number (default 1),
    /// or values drawn from a distribution or initialiser (`glorot_uniform()`; fans
    /// `prod(kernel_size) * cin` and `prod(kernel_size) * filters`, as Keras's) with `seed`.
    fn generated_kernel(
        &mut self,
        args: &mut Args,
        n_spatial: usize,
        cin: usize,
        seed: u64,
    ) -> Option<ArrayD<f64>> {
        let filters = args.req_count(self, "filters")?;
        let ks = int_list_arg(self, args, "kernel_size", n_spatial, 3)?;
        let taps: usize = ks.iter().product();
        let mut shape = ks;
        shape.extend([cin, filters]);
        let span = args.span_of("filters").unwrap_or(args.ctor_span());
        let n = self.filled_len(&shape, span)?;
        let init = match args.take("init") {
            Some(a) => match a.value {
                Value::Num(x, _) => x,
                v if Self::is_drawn(&v) => {
                    let values =
                        self.drawn(v, a.value_span, n, taps * cin, taps * filters, seed)?;
                    return ArrayD::from_shape_vec(IxDyn(&shape), values).ok();
                }
                other => {
                    self.diags.push(
                        Diagnostic::error(
                            codes::TYPE_MISMATCH,
                            format!(
                                "`init` for a generated kernel is a number or a distribution, found {}",
                                other.describe()
                            ),
                            a.value_span,
                            "here",
                        )
                        .with_help("give the weights with `kernel = w[\"…\"]`, or `init = glorot_uniform()`"),
                    );
                    return None;
                }
            },
            None => 1.0,
        };
        Some(ArrayD::from_elem(IxDyn(&shape), init))
    }

    /// A transposed convolution's output shape (`output_shape`, else the smallest that fits) and
    /// padding before, checked to invert to the input.
    fn transposed_output(
        &mut self,
        c: &Ctor,
        args: &mut Args,
        g: &Geometry,
    ) -> Option<(Vec<usize>, Vec<usize>)> {
        let (n_spatial, padding) = (g.n_spatial, &g.padding);
        let out_spatial = match args.take("output_shape") {
            Some(a) => match shape_of(&a.value) {
                Some(s) if s.len() == n_spatial + 1 => split_channels(&s, g.channels_last).0,
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
            None => g
                .in_spatial
                .iter()
                .zip(&g.strides)
                .zip(&g.ksize)
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
        let (fwd, pads) = forward_geometry(&out_spatial, &g.ksize, &g.strides, padding);
        if fwd != g.in_spatial {
            self.diags.push(Diagnostic::error(
                codes::CONV_GEOMETRY,
                format!(
                    "a transposed convolution to spatial shape {} does not invert to the input {}",
                    fmt_shape(&out_spatial),
                    fmt_shape(&g.in_spatial)
                ),
                c.span,
                "inconsistent geometry",
            ));
            return None;
        }
        Some((join_channels(&out_spatial, g.filters, g.channels_last), pads))
    }

    /// A forward convolution's output shape and padding before, the kernel checked to fit.
    fn forward_output(&mut self, c: &Ctor, g: &Geometry) -> Option<(Vec<usize>, Vec<usize>)> {
        for (d, (&n, &k)) in g.in_spatial.iter().zip(&g.ksize).enumerate() {
            if g.padding == "valid" && k > n {
                self.diags.push(
                    Diagnostic::error(codes::CONV_GEOMETRY, format!("kernel size {k} is larger than the input ({n}) along spatial dimension {d}"), c.span, "kernel does not fit")
                        .with_help(format!("the input is {}; use `padding = same` or a smaller kernel", fmt_shape(&g.input_shape))),
                );
                return None;
            }
        }
        let (out, pads) = forward_geometry(&g.in_spatial, &g.ksize, &g.strides, &g.padding);
        Some((join_channels(&out, g.filters, g.channels_last), pads))
    }

    /// Whether the output fits the target (its size, and its shape when the target has one).
    fn conv_fits_target(
        &mut self,
        c: &Ctor,
        g: &Geometry,
        output_shape: &[usize],
        size_out: usize,
        post_shape: Option<Vec<usize>>,
    ) -> bool {
        let name = c.name.as_str();
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
                        fmt_shape(output_shape)
                    ),
                    c.span,
                    format!("gives {}", fmt_shape(output_shape)),
                )
                .with_help(format!(
                    "input {} with kernel {} and strides {} ({} padding)",
                    fmt_shape(&g.input_shape),
                    fmt_shape(&g.ksize),
                    fmt_shape(&g.strides),
                    g.padding
                )),
            );
            return false;
        }
        true
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
