//! Typed readers of transform and synapse arguments: shapes, lists of integers or numbers.

use crate::resolve::decl::Args;
use crate::resolve::Elab;
use crate::value::{Unit, Value};
use snn_syntax::{codes, Diagnostic};

/// A list of positive whole numbers, as a shape.
pub(super) fn shape_of(v: &Value) -> Option<Vec<usize>> {
    match v {
        Value::Array(a) if a.ndim() == 1 && a.iter().all(|x| *x >= 1.0 && x.fract() == 0.0) => {
            Some(a.iter().map(|x| *x as usize).collect())
        }
        _ => None,
    }
}

/// A list of `n` positive integers (a single number repeats), or the default.
pub(super) fn int_list_arg(
    el: &mut Elab<'_>,
    args: &mut Args,
    name: &str,
    n: usize,
    default: usize,
) -> Option<Vec<usize>> {
    let Some(a) = args.take(name) else { return Some(vec![default; n]) };
    let res = match &a.value {
        Value::Num(x, Unit::One) if *x >= 1.0 && x.fract() == 0.0 => Some(vec![*x as usize; n]),
        Value::Array(arr)
            if arr.ndim() == 1
                && arr.len() == n
                && arr.iter().all(|x| *x >= 1.0 && x.fract() == 0.0) =>
        {
            Some(arr.iter().map(|x| *x as usize).collect())
        }
        _ => None,
    };
    if res.is_none() {
        el.diags.push(Diagnostic::error(
            codes::TYPE_MISMATCH,
            format!("`{name}` is a positive whole number or a list of {n}"),
            a.value_span,
            "bad value",
        ));
    }
    res
}

/// A numeric vector argument, named or at position `pos`.
pub(super) fn vec_arg(
    el: &mut Elab<'_>,
    args: &mut Args,
    name: &str,
    pos: usize,
) -> Option<Vec<f64>> {
    let a = match args.take(name) {
        Some(a) => a,
        None if pos < args.positional.len() => args.positional.remove(pos),
        None => {
            el.diags.push(args.missing(name));
            return None;
        }
    };
    match a.value {
        Value::Array(arr) if arr.ndim() == 1 => Some(arr.iter().copied().collect()),
        Value::Num(x, _) => Some(vec![x]),
        other => {
            el.diags.push(Diagnostic::error(
                codes::TYPE_MISMATCH,
                format!("`{name}` is a list of numbers, found {}", other.describe()),
                a.value_span,
                "not a list",
            ));
            None
        }
    }
}
