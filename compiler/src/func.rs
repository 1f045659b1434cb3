//! Functions of time and of a vector (`fn t -> …`, `fn v -> …`): lambdas compiled, with every
//! constant folded in and every size checked, into the IR's expression trees
//! ([`snn_runtime::expr`]), which the build stage and the backends evaluate.

use crate::value::{self, Env, Unit, Value};
use snn_syntax::ast::{self, BinaryOp, ExprKind, UnaryOp};
use snn_syntax::{codes, Diagnostic, Span};

pub use snn_runtime::expr::{apply_binary, FExpr, Fn1, Fn2, FnExpr, Reduce};

/// What the lambda's parameters mean where it is used.
#[derive(Clone, Copy, Debug)]
pub enum Signature {
    /// `fn t -> …`: a node function of time.
    Time,
    /// `fn v -> …` with `v` of this size: a decoded function.
    Vector(usize),
    /// `fn t -> …` or `fn (t, v: [n]) -> …`: a node, input size taken from the lambda.
    Node,
}

/// Compile `lambda` for `sig`; constants come from `env`. Errors point into the lambda.
pub fn compile(
    lambda: &ast::Lambda,
    sig: Signature,
    env: &mut dyn Env,
) -> Result<FnExpr, Diagnostic> {
    let mut time_name = None;
    let mut input_name = None;
    let mut size_in = 0;
    let p = &lambda.params;
    match sig {
        Signature::Time => {
            if p.len() != 1 {
                return Err(arity_err(
                    lambda,
                    "a node function of time takes one parameter: `fn t -> …`",
                ));
            }
            time_name = Some(p[0].name.name.clone());
        }
        Signature::Vector(n) => {
            if p.len() != 1 {
                return Err(arity_err(
                    lambda,
                    "a decoded function takes one parameter: `fn v -> …`",
                ));
            }
            input_name = Some(p[0].name.name.clone());
            size_in = n;
            if let Some(shape) = &p[0].shape {
                let declared = shape_size(shape, env)?;
                if declared != n {
                    return Err(Diagnostic::error(
                        codes::FUNCTION_SIZE,
                        format!("the function's parameter has size {declared}, but the ensemble represents {n} dimension(s)"),
                        shape.span,
                        format!("should be [{n}]"),
                    ));
                }
            }
        }
        Signature::Node => match p.len() {
            1 => {
                if p[0].shape.is_some() {
                    return Err(arity_err(
                        lambda,
                        "a node function with an input takes time first: `fn (t, v: [n]) -> …`",
                    ));
                }
                time_name = Some(p[0].name.name.clone());
            }
            2 => {
                time_name = Some(p[0].name.name.clone());
                input_name = Some(p[1].name.name.clone());
                let Some(shape) = &p[1].shape else {
                    return Err(Diagnostic::error(
                        codes::SYNTAX,
                        "a node function's input needs a declared size",
                        p[1].name.span,
                        "write `v: [n]`",
                    ));
                };
                size_in = shape_size(shape, env)?;
            }
            _ => {
                return Err(arity_err(
                    lambda,
                    "a node function is `fn t -> …` or `fn (t, v: [n]) -> …`",
                ))
            }
        },
    }
    let cx = Cx { time_name, input_name, size_in };
    let (body, size_out) = cx.compile(&lambda.body, env)?;
    Ok(FnExpr { body, size_in, size_out })
}

fn arity_err(lambda: &ast::Lambda, help: &str) -> Diagnostic {
    Diagnostic::error(codes::ARITY, "wrong number of function parameters", lambda.span, "here")
        .with_help(help.to_string())
}

fn shape_size(shape: &ast::Shape, env: &mut dyn Env) -> Result<usize, Diagnostic> {
    // as declared shapes: below 10^9 in all (the memory budget limits it further)
    const MAX_SIZE: f64 = 1e9;
    let mut n = 1usize;
    for d in &shape.dims {
        match value::eval(d, env)? {
            Value::Num(x, Unit::One) if x >= 1.0 && x.fract() == 0.0 => {
                if x * n as f64 >= MAX_SIZE {
                    return Err(Diagnostic::error(
                        codes::BAD_SHAPE,
                        "a function parameter may have at most 999999999 values",
                        shape.span,
                        "too large",
                    ));
                }
                n *= x as usize;
            }
            other => {
                return Err(Diagnostic::error(
                    codes::BAD_SHAPE,
                    format!("a size is a positive whole number, found {}", other.describe()),
                    d.span,
                    "here",
                ))
            }
        }
    }
    Ok(n)
}

struct Cx {
    time_name: Option<String>,
    input_name: Option<String>,
    size_in: usize,
}

type C = Result<(FExpr, usize), Diagnostic>;

impl Cx {
    fn compile(&self, e: &ast::Expr, env: &mut dyn Env) -> C {
        match &e.kind {
            ExprKind::Name(id) if Some(&id.name) == self.time_name.as_ref() => Ok((FExpr::Time, 1)),
            ExprKind::Name(id) if Some(&id.name) == self.input_name.as_ref() => {
                Ok((FExpr::Input, self.size_in))
            }
            ExprKind::Name(id) if id.name == "t" && self.time_name.is_none() => {
                Err(Diagnostic::error(
                    codes::UNKNOWN_NAME,
                    "`t` is not available in a decoded function",
                    id.span,
                    "time is not an input here",
                ))
            }
            ExprKind::Paren(inner) => self.compile(inner, env),
            ExprKind::Vector(items) => {
                let mut parts = Vec::new();
                let mut n = 0;
                for it in items {
                    let (f, k) = self.compile(it, env)?;
                    n += k;
                    parts.push(f);
                }
                Ok((FExpr::Concat(parts), n))
            }
            ExprKind::Unary { op, expr } => {
                let (f, n) = self.compile(expr, env)?;
                let f1 = if *op == UnaryOp::Neg { Fn1::Neg } else { Fn1::Not };
                Ok((FExpr::Unary(f1, Box::new(f)), n))
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let (a, na) = self.compile(lhs, env)?;
                let (b, nb) = self.compile(rhs, env)?;
                let n = broadcast(na, nb, e.span, lhs.span, rhs.span)?;
                Ok((FExpr::Binary(fn2(*op), Box::new(a), Box::new(b)), n))
            }
            ExprKind::Index { base, indices } => {
                let (b, n) = self.compile(base, env)?;
                let [idx] = indices.as_slice() else {
                    return Err(Diagnostic::error(
                        codes::INDEX_RANGE,
                        "function values are vectors: use one index",
                        e.span,
                        "too many indices",
                    ));
                };
                let picks = value::index_list(idx, n, env)?;
                let k = picks.len();
                Ok((FExpr::Gather(Box::new(b), picks), k))
            }
            ExprKind::Call { callee, args } => self.call(callee, args, e.span, env),
            _ => {
                // A constant sub-expression.
                match value::eval(e, env)? {
                    Value::Num(x, _) => Ok((FExpr::Const(vec![x]), 1)),
                    Value::Bool(b) => Ok((FExpr::Const(vec![f64::from(u8::from(b))]), 1)),
                    Value::Array(a) if a.ndim() <= 1 => {
                        let v: Vec<f64> = a.iter().copied().collect();
                        let n = v.len();
                        Ok((FExpr::Const(v), n))
                    }
                    other => Err(Diagnostic::error(
                        codes::TYPE_MISMATCH,
                        format!(
                            "a function computes numbers and vectors, found {}",
                            other.describe()
                        ),
                        e.span,
                        "not a number",
                    )),
                }
            }
        }
    }

    fn call(&self, callee: &ast::Expr, args: &[ast::Arg], span: Span, env: &mut dyn Env) -> C {
        let ExprKind::Name(id) = &callee.kind else {
            return Err(Diagnostic::error(
                codes::UNKNOWN_FUNCTION,
                "only named functions can be called here",
                callee.span,
                "not a function",
            ));
        };
        let mut compiled = Vec::new();
        for a in args {
            if let Some(n) = &a.name {
                return Err(Diagnostic::error(
                    codes::UNKNOWN_ARGUMENT,
                    "functions take positional arguments",
                    n.span,
                    "named argument",
                ));
            }
            compiled.push(self.compile(&a.value, env)?);
        }
        let name = id.name.as_str();
        let want = |k: usize| -> Result<(), Diagnostic> {
            if compiled.len() != k {
                return Err(Diagnostic::error(
                    codes::ARITY,
                    format!("`{name}` takes {k} argument(s), found {}", compiled.len()),
                    span,
                    "wrong number of arguments",
                ));
            }
            Ok(())
        };
        let f1 = match name {
            "sin" => Some(Fn1::Sin),
            "cos" => Some(Fn1::Cos),
            "tan" => Some(Fn1::Tan),
            "asin" => Some(Fn1::Asin),
            "acos" => Some(Fn1::Acos),
            "atan" => Some(Fn1::Atan),
            "sinh" => Some(Fn1::Sinh),
            "cosh" => Some(Fn1::Cosh),
            "tanh" => Some(Fn1::Tanh),
            "exp" => Some(Fn1::Exp),
            "log" => Some(Fn1::Log),
            "log1p" => Some(Fn1::Log1p),
            "expm1" => Some(Fn1::Expm1),
            "sqrt" => Some(Fn1::Sqrt),
            "abs" => Some(Fn1::Abs),
            "sign" => Some(Fn1::Sign),
            "floor" => Some(Fn1::Floor),
            "ceil" => Some(Fn1::Ceil),
            "round" => Some(Fn1::Round),
            _ => None,
        };
        if let Some(f) = f1 {
            want(1)?;
            let (a, n) = compiled.remove(0);
            return Ok((FExpr::Unary(f, Box::new(a)), n));
        }
        let reduce = match name {
            "sum" => Some(Reduce::Sum),
            "prod" => Some(Reduce::Prod),
            "mean" => Some(Reduce::Mean),
            "norm" => Some(Reduce::Norm),
            _ => None,
        };
        if let Some(r) = reduce {
            want(1)?;
            let (a, _) = compiled.remove(0);
            return Ok((FExpr::Reduce(r, Box::new(a)), 1));
        }
        match name {
            "min" | "max" => {
                let r = if name == "min" { Reduce::Min } else { Reduce::Max };
                if compiled.len() == 1 {
                    let (a, _) = compiled.remove(0);
                    return Ok((FExpr::Reduce(r, Box::new(a)), 1));
                }
                want(2)?;
                let (b, nb) = compiled.remove(1);
                let (a, na) = compiled.remove(0);
                let n = broadcast(na, nb, span, args[0].span, args[1].span)?;
                let cmp = if name == "min" { Fn2::Lt } else { Fn2::Gt };
                let cond = FExpr::Binary(cmp, Box::new(a.clone()), Box::new(b.clone()));
                Ok((FExpr::Where(Box::new(cond), Box::new(a), Box::new(b)), n))
            }
            "atan2" => {
                want(2)?;
                let (b, nb) = compiled.remove(1);
                let (a, na) = compiled.remove(0);
                let n = broadcast(na, nb, span, args[0].span, args[1].span)?;
                Ok((FExpr::Atan2(Box::new(a), Box::new(b)), n))
            }
            "dot" => {
                want(2)?;
                let (b, nb) = compiled.remove(1);
                let (a, na) = compiled.remove(0);
                broadcast(na, nb, span, args[0].span, args[1].span)?;
                let prod = FExpr::Binary(Fn2::Mul, Box::new(a), Box::new(b));
                Ok((FExpr::Reduce(Reduce::Sum, Box::new(prod)), 1))
            }
            "clip" => {
                want(3)?;
                let (hi, nh) = compiled.remove(2);
                let (lo, nl) = compiled.remove(1);
                let (a, na) = compiled.remove(0);
                let n = broadcast(na, nl, span, args[0].span, args[1].span)?;
                let n = broadcast(n, nh, span, args[0].span, args[2].span)?;
                let below = FExpr::Binary(Fn2::Lt, Box::new(a.clone()), Box::new(lo.clone()));
                let lower = FExpr::Where(Box::new(below), Box::new(lo), Box::new(a));
                let above = FExpr::Binary(Fn2::Gt, Box::new(lower.clone()), Box::new(hi.clone()));
                Ok((FExpr::Where(Box::new(above), Box::new(hi), Box::new(lower)), n))
            }
            "where" => {
                want(3)?;
                let (b, nb) = compiled.remove(2);
                let (a, na) = compiled.remove(1);
                let (c, nc) = compiled.remove(0);
                let n = broadcast(nc, na, span, args[0].span, args[1].span)?;
                let n = broadcast(n, nb, span, args[0].span, args[2].span)?;
                Ok((FExpr::Where(Box::new(c), Box::new(a), Box::new(b)), n))
            }
            _ => {
                const ALL: &[&str] = &[
                    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
                    "exp", "log", "log1p", "expm1", "sqrt", "abs", "sign", "floor", "ceil",
                    "round", "min", "max", "clip", "sum", "prod", "dot", "norm", "mean", "where",
                ];
                let mut d = Diagnostic::error(
                    codes::UNKNOWN_FUNCTION,
                    format!("unknown function `{name}`"),
                    id.span,
                    "unknown function",
                );
                if let Some(g) = snn_syntax::diag::did_you_mean(name, ALL.iter().copied()) {
                    d = d.with_help(format!("did you mean `{g}`?"));
                }
                Err(d)
            }
        }
    }
}

fn broadcast(na: usize, nb: usize, span: Span, sa: Span, sb: Span) -> Result<usize, Diagnostic> {
    if na == nb || nb == 1 {
        Ok(na)
    } else if na == 1 {
        Ok(nb)
    } else {
        Err(Diagnostic::error(
            codes::SHAPE_MISMATCH,
            format!("sizes {na} and {nb} do not match"),
            span,
            "in this operation",
        )
        .with_label(sa, format!("size {na}"))
        .with_label(sb, format!("size {nb}")))
    }
}

/// The runtime's operator for a binary operator of the language.
pub fn fn2(op: BinaryOp) -> Fn2 {
    match op {
        BinaryOp::Or => Fn2::Or,
        BinaryOp::And => Fn2::And,
        BinaryOp::Eq => Fn2::Eq,
        BinaryOp::Ne => Fn2::Ne,
        BinaryOp::Lt => Fn2::Lt,
        BinaryOp::Le => Fn2::Le,
        BinaryOp::Gt => Fn2::Gt,
        BinaryOp::Ge => Fn2::Ge,
        BinaryOp::Add => Fn2::Add,
        BinaryOp::Sub => Fn2::Sub,
        BinaryOp::Mul => Fn2::Mul,
        BinaryOp::Div => Fn2::Div,
        BinaryOp::Pow => Fn2::Pow,
    }
}
