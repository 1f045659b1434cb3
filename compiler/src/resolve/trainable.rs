//! `trainable`: which parameters `snnc train` changes, as NengoDL's `trainable` config —
//! an object's own setting (an argument, a connection's clause), else the innermost `config`
//! block's `kind.trainable`, else its `trainable`, else trained.

use crate::resolve::scope::NetCtx;
use crate::resolve::Elab;
use crate::value::Value;
use snn_syntax::{ast, Span};

impl Elab<'_> {
    /// A connection's `trainable EXPR` clause, else the config's setting for `kind`, else true.
    pub(crate) fn trainable_clause(
        &mut self,
        ctx: &mut NetCtx,
        e: Option<&ast::Expr>,
        kind: &str,
    ) -> Option<bool> {
        match e {
            Some(e) => {
                let v = self.eval(ctx, e)?;
                self.trainable_value(v, e.span)
            }
            None => Some(config_trainable(ctx, kind).unwrap_or(true)),
        }
    }

    /// A `trainable` value: true or false (reported otherwise).
    pub(crate) fn trainable_value(&mut self, v: Value, span: Span) -> Option<bool> {
        self.bool_value("trainable", v, span)
    }
}

/// The config's `trainable` for objects of `kind` (`kind.trainable`, else `trainable`, the
/// innermost network first).
pub(crate) fn config_trainable(ctx: &NetCtx, kind: &str) -> Option<bool> {
    match ctx.config.trainable(kind) {
        Some((Value::Bool(b), _)) => Some(b),
        _ => None,
    }
}

/// The config's `neurons.trainable` (biases of ensembles and layers), if set.
pub(crate) fn config_bias_trainable(ctx: &NetCtx) -> Option<bool> {
    match ctx.config.get("neurons", "trainable") {
        Some((Value::Bool(b), _)) => Some(b),
        _ => None,
    }
}
