//! Nodes: passthroughs, constants, functions, host functions and processes.

use super::args::Args;
use crate::func::{self, Signature};
use crate::model::{NodeKind, ObjectKind};
use crate::resolve::scope::NetCtx;
use crate::resolve::Elab;
use crate::spec::ProcessSpec;
use crate::value::{fmt_shape, Ctor, Unit, Value};
use ndarray::ArrayD;
use snn_syntax::ast;
use snn_syntax::{codes, Diagnostic, Span};

impl Elab<'_> {
    /// Declare `node name[: shape] [= value]`: the value decides the node's kind and size.
    pub(super) fn declare_node(
        &mut self,
        ctx: &mut NetCtx,
        name: &ast::DeclName,
        shape: Option<&ast::Shape>,
        value: Option<&ast::Expr>,
        span: Span,
    ) {
        let Some(index) = self.decl_index(ctx, name) else { return };
        let declared = match shape {
            Some(s) => match self.eval_shape(ctx, s) {
                Some(d) => Some((d, s.span)),
                None => return,
            },
            None => None,
        };
        let Some(value) = value else {
            let Some((shape, _)) = declared else {
                self.diags.push(
                    Diagnostic::error(
                        codes::MISSING_ARGUMENT,
                        format!("node `{}` needs a shape or a value", name.name.name),
                        name.span,
                        "no shape, no value",
                    )
                    .with_help(
                        "a passthrough node is `node relay: [n]`; a constant is `node c = [1, 2]`",
                    ),
                );
                return;
            };
            let size = shape.iter().product();
            self.add_declared(
                ctx,
                name,
                index,
                ObjectKind::Node(NodeKind::Passthrough),
                shape,
                size,
                span,
            );
            return;
        };
        let Some(v) = self.eval(ctx, value) else { return };
        let (kind, shape, size_in) = match v {
            Value::Num(x, _) => {
                (NodeKind::Const(ArrayD::from_elem(ndarray::IxDyn(&[1]), x)), vec![1], 0)
            }
            Value::Array(a) => {
                let a = if a.ndim() == 0 {
                    ArrayD::from_elem(ndarray::IxDyn(&[1]), a.iter().next().copied().unwrap_or(0.0))
                } else {
                    a
                };
                let shape = a.shape().to_vec();
                if a.is_empty() {
                    self.diags.push(Diagnostic::error(
                        codes::BAD_SHAPE,
                        format!("a node's value has no elements (shape {})", fmt_shape(&shape)),
                        value.span,
                        "empty",
                    ));
                    return;
                }
                (NodeKind::Const(a), shape, 0)
            }
            Value::Lambda(l) => {
                let Some(f) = self.with_env(ctx, |env| func::compile(&l, Signature::Node, env))
                else {
                    return;
                };
                let (n_out, n_in) = (f.size_out, f.size_in);
                let shape = match &declared {
                    Some((d, _)) if d.iter().product::<usize>() == n_out => d.clone(),
                    _ => vec![n_out],
                };
                (NodeKind::Function(f), shape, n_in)
            }
            Value::Ctor(c) if crate::resolve::host::HOST_FUNCTIONS.contains(&c.name.as_str()) => {
                let res = if c.name == "keras_layer" {
                    self.keras_from(&c)
                } else {
                    self.host_from(&c, declared.as_ref().map(|d| &d.0))
                };
                let Some((h, shape, n_in)) = res else {
                    return;
                };
                (NodeKind::Host(h), shape, n_in)
            }
            Value::Ctor(c) => {
                let Some((p, shape)) =
                    self.process_from(ctx, c, declared.as_ref().map(|d| d.0.clone()))
                else {
                    return;
                };
                (NodeKind::Process(p), shape, 0)
            }
            other => {
                self.diags.push(
                    Diagnostic::error(codes::TYPE_MISMATCH, format!("a node's value is a constant, a function or a process, found {}", other.describe()), value.span, "not a node value")
                        .with_help("e.g. `node c = [1, 2]`, `node s = fn t -> sin(t)`, `node n = white_noise(dims = 1)`"),
                );
                return;
            }
        };
        if let Some((d, dspan)) = &declared {
            let want: usize = d.iter().product();
            let got: usize = shape.iter().product();
            if want != got {
                self.diags.push(
                    Diagnostic::error(
                        codes::FUNCTION_SIZE,
                        format!(
                            "node `{}` is declared with size {want}, but its value has size {got}",
                            name.name.name
                        ),
                        value.span,
                        format!("size {got}"),
                    )
                    .with_label(*dspan, format!("declared {}", fmt_shape(d))),
                );
                return;
            }
        }
        self.add_declared(ctx, name, index, ObjectKind::Node(kind), shape, size_in, span);
    }

    /// Interpret a process constructor (`white_noise`, `white_signal`, `present_input`).
    fn process_from(
        &mut self,
        ctx: &mut NetCtx,
        c: Ctor,
        declared: Option<Vec<usize>>,
    ) -> Option<(ProcessSpec, Vec<usize>)> {
        let mut args = Args::new(
            self,
            &c,
            &[
                "dims",
                "mean",
                "std",
                "scale",
                "seed",
                "period",
                "high",
                "rms",
                "y0",
                "inputs",
                "presentation_time",
            ],
        )?;
        let seed = args.opt_count(self, "seed").map(|s| s as u64);
        let white = matches!(c.name.as_str(), "white_noise" | "white_signal");
        let dims = if white { args.opt_count(self, "dims") } else { None };
        if dims == Some(0) {
            let s = args.span_of("dims").unwrap_or(c.span);
            self.diags.push(
                Diagnostic::error(codes::OUT_OF_RANGE, "`dims` must be at least 1", s, "zero")
                    .with_help(format!(
                        "`{}` makes one signal per dimension; leave dims out for one",
                        c.name
                    )),
            );
            return None;
        }
        let res = match c.name.as_str() {
            "white_noise" => {
                let dims = dims.or(declared.as_ref().map(|d| d.iter().product())).unwrap_or(1);
                let mean = args.opt_num(self, "mean", Unit::One).unwrap_or(0.0);
                let std = args.opt_num(self, "std", Unit::One).unwrap_or(1.0);
                let scale = args.opt_bool(self, "scale").unwrap_or(true);
                (ProcessSpec::WhiteNoise { mean, std, scale, seed }, vec![dims])
            }
            "white_signal" => {
                let dims = dims.or(declared.as_ref().map(|d| d.iter().product())).unwrap_or(1);
                let period = args.req_positive(self, "period", Unit::Time)?;
                let high = args.req_positive(self, "high", Unit::Freq)?;
                let rms = args.opt_num(self, "rms", Unit::One).unwrap_or(0.5);
                let y0 = args.opt_num(self, "y0", Unit::One);
                (ProcessSpec::WhiteSignal { period, high, rms, y0, seed }, vec![dims])
            }
            "present_input" => {
                let inputs = args.req_array(self, "inputs", 0)?;
                let presentation_time = args.req_positive(self, "presentation_time", Unit::Time)?;
                let shape = if inputs.ndim() <= 1 { vec![1] } else { inputs.shape()[1..].to_vec() };
                (ProcessSpec::PresentInput { inputs, presentation_time }, shape)
            }
            other => {
                self.diags.push(
                    Diagnostic::error(
                        codes::WRONG_KIND,
                        format!("`{other}(…)` is not a process"),
                        c.span,
                        "not a node value",
                    )
                    .with_help("node processes are white_noise, white_signal and present_input"),
                );
                return None;
            }
        };
        args.finish(self);
        let _ = ctx;
        Some(res)
    }
}
