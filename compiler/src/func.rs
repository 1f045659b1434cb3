//! Functions of time and of a vector (`fn t -> …`, `fn v -> …`): compiled from lambdas with
//! every constant folded in, size-checked, and evaluated by the build stage and the backends.

use crate::value::{self, Env, Unit, Value};
use snn_syntax::ast::{self, BinaryOp, ExprKind, UnaryOp};
use snn_syntax::{codes, Diagnostic, Span};

/// A compiled function: `body` over the variables `t` (time) and `x` (the input vector).
#[derive(Clone, Debug, PartialEq)]
pub struct FnExpr {
    /// The expression tree.
    pub body: FExpr,
    /// Input size (0 when the function takes only time).
    pub size_in: usize,
    /// Output size.
    pub size_out: usize,
    /// Where the lambda is written.
    pub span: Span,
}

/// Elementwise functions of one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fn1 {
    /// sin
    Sin,
    /// cos
    Cos,
    /// tan
    Tan,
    /// asin
    Asin,
    /// acos
    Acos,
    /// atan
    Atan,
    /// sinh
    Sinh,
    /// cosh
    Cosh,
    /// tanh
    Tanh,
    /// exp
    Exp,
    /// log
    Log,
    /// log1p
    Log1p,
    /// expm1
    Expm1,
    /// sqrt
    Sqrt,
    /// abs
    Abs,
    /// sign
    Sign,
    /// floor
    Floor,
    /// ceil
    Ceil,
    /// round (half away from zero)
    Round,
    /// unary minus
    Neg,
    /// logical not
    Not,
}

impl Fn1 {
    /// Apply to one number.
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Fn1::Sin => x.sin(),
            Fn1::Cos => x.cos(),
            Fn1::Tan => x.tan(),
            Fn1::Asin => x.asin(),
            Fn1::Acos => x.acos(),
            Fn1::Atan => x.atan(),
            Fn1::Sinh => x.sinh(),
            Fn1::Cosh => x.cosh(),
            Fn1::Tanh => x.tanh(),
            Fn1::Exp => x.exp(),
            Fn1::Log => x.ln(),
            Fn1::Log1p => x.ln_1p(),
            Fn1::Expm1 => x.exp_m1(),
            Fn1::Sqrt => x.sqrt(),
            Fn1::Abs => x.abs(),
            Fn1::Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            Fn1::Floor => x.floor(),
            Fn1::Ceil => x.ceil(),
            Fn1::Round => x.round(),
            Fn1::Neg => -x,
            Fn1::Not => f64::from(u8::from(x == 0.0)),
        }
    }
}

/// Reductions of a vector to a scalar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduce {
    /// sum
    Sum,
    /// prod
    Prod,
    /// mean
    Mean,
    /// Euclidean norm
    Norm,
    /// smallest element
    Min,
    /// largest element
    Max,
}

/// A node of a compiled function; every node has a fixed size (1 broadcasts).
#[derive(Clone, Debug, PartialEq)]
pub enum FExpr {
    /// Constant values.
    Const(Vec<f64>),
    /// The time `t`.
    Time,
    /// The input vector.
    Input,
    /// Elementwise unary.
    Unary(Fn1, Box<FExpr>),
    /// Elementwise binary with broadcasting of size-1 operands.
    Binary(BinaryOp, Box<FExpr>, Box<FExpr>),
    /// atan2(y, x), elementwise.
    Atan2(Box<FExpr>, Box<FExpr>),
    /// Elementwise `where(c, a, b)`.
    Where(Box<FExpr>, Box<FExpr>, Box<FExpr>),
    /// Reduce to a scalar.
    Reduce(Reduce, Box<FExpr>),
    /// Concatenate the parts.
    Concat(Vec<FExpr>),
    /// Select elements by position.
    Gather(Box<FExpr>, Vec<usize>),
}

impl FnExpr {
    /// Evaluate at time `t` with input `x` (ignored when `size_in == 0`).
    pub fn eval(&self, t: f64, x: &[f64]) -> Vec<f64> {
        let out = eval_node(&self.body, t, x);
        if out.len() == self.size_out {
            out
        } else {
            vec![out.first().copied().unwrap_or(0.0); self.size_out]
        }
    }
}

fn eval_node(e: &FExpr, t: f64, x: &[f64]) -> Vec<f64> {
    match e {
        FExpr::Const(v) => v.clone(),
        FExpr::Time => vec![t],
        FExpr::Input => x.to_vec(),
        FExpr::Unary(f, a) => eval_node(a, t, x).into_iter().map(|v| f.apply(v)).collect(),
        FExpr::Binary(op, a, b) => {
            zip(&eval_node(a, t, x), &eval_node(b, t, x), |p, q| apply_binary(*op, p, q))
        }
        FExpr::Atan2(a, b) => zip(&eval_node(a, t, x), &eval_node(b, t, x), f64::atan2),
        FExpr::Where(c, a, b) => {
            let (c, a, b) = (eval_node(c, t, x), eval_node(a, t, x), eval_node(b, t, x));
            let n = c.len().max(a.len()).max(b.len());
            (0..n).map(|i| if pick(&c, i) != 0.0 { pick(&a, i) } else { pick(&b, i) }).collect()
        }
        FExpr::Reduce(r, a) => {
            let v = eval_node(a, t, x);
            vec![match r {
                Reduce::Sum => v.iter().sum(),
                Reduce::Prod => v.iter().product(),
                Reduce::Mean => v.iter().sum::<f64>() / v.len().max(1) as f64,
                Reduce::Norm => v.iter().map(|q| q * q).sum::<f64>().sqrt(),
                Reduce::Min => v.iter().copied().fold(f64::INFINITY, f64::min),
                Reduce::Max => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            }]
        }
        FExpr::Concat(parts) => parts.iter().flat_map(|p| eval_node(p, t, x)).collect(),
        FExpr::Gather(a, idx) => {
            let v = eval_node(a, t, x);
            idx.iter().map(|&i| v.get(i).copied().unwrap_or(f64::NAN)).collect()
        }
    }
}

fn pick(v: &[f64], i: usize) -> f64 {
    if v.len() == 1 {
        v[0]
    } else {
        v.get(i).copied().unwrap_or(f64::NAN)
    }
}

fn zip(a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    let n = a.len().max(b.len());
    (0..n).map(|i| f(pick(a, i), pick(b, i))).collect()
}

/// One binary operator on numbers (comparisons give 0 or 1).
pub fn apply_binary(op: BinaryOp, x: f64, y: f64) -> f64 {
    match op {
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => x * y,
        BinaryOp::Div => x / y,
        BinaryOp::Pow => x.powf(y),
        BinaryOp::Lt => f64::from(u8::from(x < y)),
        BinaryOp::Le => f64::from(u8::from(x <= y)),
        BinaryOp::Gt => f64::from(u8::from(x > y)),
        BinaryOp::Ge => f64::from(u8::from(x >= y)),
        BinaryOp::Eq => f64::from(u8::from(x == y)),
        BinaryOp::Ne => f64::from(u8::from(x != y)),
        BinaryOp::And => f64::from(u8::from(x != 0.0 && y != 0.0)),
        BinaryOp::Or => f64::from(u8::from(x != 0.0 || y != 0.0)),
    }
}

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
    Ok(FnExpr { body, size_in, size_out, span: lambda.span })
}

fn arity_err(lambda: &ast::Lambda, help: &str) -> Diagnostic {
    Diagnostic::error(codes::ARITY, "wrong number of function parameters", lambda.span, "here")
        .with_help(help.to_string())
}

fn shape_size(shape: &ast::Shape, env: &mut dyn Env) -> Result<usize, Diagnostic> {
    let mut n = 1;
    for d in &shape.dims {
        match value::eval(d, env)? {
            Value::Num(x, Unit::One) if x >= 1.0 && x.fract() == 0.0 => n *= x as usize,
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
                Ok((FExpr::Binary(*op, Box::new(a), Box::new(b)), n))
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
                let cmp = if name == "min" { BinaryOp::Lt } else { BinaryOp::Gt };
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
                let prod = FExpr::Binary(BinaryOp::Mul, Box::new(a), Box::new(b));
                Ok((FExpr::Reduce(Reduce::Sum, Box::new(prod)), 1))
            }
            "clip" => {
                want(3)?;
                let (hi, nh) = compiled.remove(2);
                let (lo, nl) = compiled.remove(1);
                let (a, na) = compiled.remove(0);
                let n = broadcast(na, nl, span, args[0].span, args[1].span)?;
                let n = broadcast(n, nh, span, args[0].span, args[2].span)?;
                let below = FExpr::Binary(BinaryOp::Lt, Box::new(a.clone()), Box::new(lo.clone()));
                let lower = FExpr::Where(Box::new(below), Box::new(lo), Box::new(a));
                let above =
                    FExpr::Binary(BinaryOp::Gt, Box::new(lower.clone()), Box::new(hi.clone()));
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
