//! Declarations: inputs, nodes, ensembles, layers and network instances, with their arguments
//! interpreted, defaults applied (config, then Nengo's) and values range-checked. One file per
//! constructor family; `args.rs` takes a constructor's arguments apart for all of them.

mod args;
mod dist;
pub(crate) mod ensembles;
mod instance;
pub(crate) mod layers;
mod neurons;
mod nodes;

pub(crate) use args::Args;

use super::scope::{Member, NetCtx};
use super::Elab;
use crate::model::{Object, ObjectKind};
use crate::value::{Unit, Value};
use snn_syntax::ast::{self, StmtKind};
use snn_syntax::{codes, Diagnostic, Span};

/// Dimensions of a declared shape are below this (the memory budget bounds their product).
const MAX_DIM: f64 = 1e9;

/// A stable 64-bit mix of a seed and a name (SplitMix64 over FNV-1a).
pub(crate) fn derive_seed(seed: u64, name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = seed ^ h;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Elab<'_> {
    /// Declare the object or instance of one declaration statement (other statements are skipped).
    pub(crate) fn declare(&mut self, ctx: &mut NetCtx, stmt: &ast::Stmt) {
        match &stmt.kind {
            StmtKind::Input { name, shape } => {
                let Some(index) = self.decl_index(ctx, name) else { return };
                let Some(shape) = self.eval_shape(ctx, shape) else { return };
                let size = shape.iter().product();
                self.add_declared(ctx, name, index, ObjectKind::Input, shape, size, stmt.span);
            }
            StmtKind::Node { name, shape, value } => {
                self.declare_node(ctx, name, shape.as_ref(), value.as_ref(), stmt.span)
            }
            StmtKind::Ensemble { name, value } => {
                let Some(index) = self.decl_index(ctx, name) else { return };
                let Some(v) = self.eval(ctx, value) else { return };
                let Some((ens, seed)) = self.ensemble_from(ctx, v, value.span) else { return };
                let dims = ens.dims;
                let full = ctx.full_name(&name.name.name, index);
                let seed = seed.unwrap_or_else(|| derive_seed(ctx.seed, &full));
                let id = self.add_object(Object {
                    name: full,
                    kind: ObjectKind::Ensemble(ens),
                    shape: vec![dims],
                    size_in: dims,
                    seed,
                    span: name.span,
                });
                self.insert_member(ctx, &name.name, index, Member::Object(id, name.span));
            }
            StmtKind::Layer { name, shape, value } => {
                let Some(index) = self.decl_index(ctx, name) else { return };
                let Some(shape) = self.eval_shape(ctx, shape) else { return };
                let Some(v) = self.eval(ctx, value) else { return };
                let n: usize = shape.iter().product();
                let Some(layer) = self.layer_from(ctx, v, value.span, n) else { return };
                self.add_declared(ctx, name, index, ObjectKind::Layer(layer), shape, n, stmt.span);
            }
            StmtKind::Instance { name, value } => self.declare_instance(ctx, name, value),
            _ => {}
        }
    }

    /// The evaluated index of `name[i]`, or `Some(None)` for a plain name.
    fn decl_index(&mut self, ctx: &mut NetCtx, name: &ast::DeclName) -> Option<Option<i64>> {
        match &name.index {
            Some(e) => self.eval_int(ctx, e).map(Some),
            None => Some(None),
        }
    }

    #[allow(clippy::too_many_arguments)]
    /// Add an object named for `name` and its index, seeded from its full name.
    fn add_declared(
        &mut self,
        ctx: &mut NetCtx,
        name: &ast::DeclName,
        index: Option<i64>,
        kind: ObjectKind,
        shape: Vec<usize>,
        size_in: usize,
        span: Span,
    ) {
        let _ = span;
        let full = ctx.full_name(&name.name.name, index);
        let seed = derive_seed(ctx.seed, &full);
        let id =
            self.add_object(Object { name: full, kind, shape, size_in, seed, span: name.span });
        self.insert_member(ctx, &name.name, index, Member::Object(id, name.span));
    }

    /// Evaluate a shape: every dimension a positive whole number, and their product, below
    /// [`MAX_DIM`].
    fn eval_shape(&mut self, ctx: &mut NetCtx, shape: &ast::Shape) -> Option<Vec<usize>> {
        if shape.dims.is_empty() {
            self.diags.push(Diagnostic::error(
                codes::BAD_SHAPE,
                "a shape needs at least one dimension",
                shape.span,
                "empty shape",
            ));
            return None;
        }
        let mut dims = Vec::new();
        for d in &shape.dims {
            match self.eval(ctx, d)? {
                Value::Num(x, Unit::One) if x >= 1.0 && x.fract() == 0.0 && x < MAX_DIM => {
                    dims.push(x as usize)
                }
                Value::Num(x, Unit::One) if x >= MAX_DIM && x.fract() == 0.0 => {
                    self.diags.push(
                        Diagnostic::error(
                            codes::BAD_SHAPE,
                            format!("a dimension may be at most 999999999, found {x}"),
                            d.span,
                            "too large",
                        )
                        .with_help("dimensions are below 10^9; the memory budget (E0801) limits their product"),
                    );
                    return None;
                }
                other => {
                    let what = match other {
                        Value::Num(x, _) => format!("{x}"),
                        v => v.describe(),
                    };
                    self.diags.push(Diagnostic::error(
                        codes::BAD_SHAPE,
                        format!("a dimension must be a positive whole number, found {what}"),
                        d.span,
                        "bad dimension",
                    ));
                    return None;
                }
            }
        }
        let values: f64 = dims.iter().map(|&d| d as f64).product();
        if values >= MAX_DIM {
            self.diags.push(
                Diagnostic::error(
                    codes::BAD_SHAPE,
                    format!("a shape may hold at most 999999999 values in all, found {values:e}"),
                    shape.span,
                    "too large",
                )
                .with_help("the memory budget (E0801) limits sizes further"),
            );
            return None;
        }
        Some(dims)
    }
}
