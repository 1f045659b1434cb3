//! Compile-time values and the evaluator of constant expressions (parameters, shapes, weights).

use ndarray::{ArrayD, Axis, IxDyn};
use snn_syntax::ast::{self, BinaryOp, ExprKind, UnaryOp};
use snn_syntax::{codes, Diagnostic, Span};
use std::rc::Rc;

/// The physical dimension of a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Dimensionless.
    One,
    /// Seconds.
    Time,
    /// Hertz.
    Freq,
}

impl Unit {
    /// How the unit is called in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Unit::One => "a plain number",
            Unit::Time => "a time",
            Unit::Freq => "a frequency",
        }
    }
}

/// Index of a weights file opened by a `weights` statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeightsId(pub usize);

/// A value known at compile time.
#[derive(Clone, Debug)]
pub enum Value {
    /// A number with its unit.
    Num(f64, Unit),
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(String),
    /// A vector, matrix or tensor (dimensionless).
    Array(ArrayD<f64>),
    /// `none`.
    None,
    /// A constructor call interpreted by the context that uses it: `lif(…)`, `uniform(…)`, ….
    Ctor(Ctor),
    /// A function literal, compiled where it is used.
    Lambda(Rc<ast::Lambda>),
    /// A weights file.
    Weights(WeightsId),
}

/// A constructor call with evaluated arguments.
#[derive(Clone, Debug)]
pub struct Ctor {
    /// The constructor's name.
    pub name: String,
    /// Its arguments in order.
    pub args: Vec<CtorArg>,
    /// Where the call is written.
    pub span: Span,
}

/// One evaluated argument of a constructor.
#[derive(Clone, Debug)]
pub struct CtorArg {
    /// The argument's name, for named arguments.
    pub name: Option<String>,
    /// Its value.
    pub value: Value,
    /// Where it is written (the whole argument).
    pub span: Span,
    /// Where its value is written.
    pub value_span: Span,
}

impl Value {
    /// A short description for messages: "a time", "a 3-vector", "`lif(…)`".
    pub fn describe(&self) -> String {
        match self {
            Value::Num(_, u) => u.describe().to_string(),
            Value::Bool(_) => "a boolean".to_string(),
            Value::Str(_) => "a string".to_string(),
            Value::Array(a) => format!("an array of shape {}", fmt_shape(a.shape())),
            Value::None => "`none`".to_string(),
            Value::Ctor(c) => format!("`{}(…)`", c.name),
            Value::Lambda(_) => "a function".to_string(),
            Value::Weights(_) => "a weights file".to_string(),
        }
    }
}

/// `[2, 3]` style.
pub fn fmt_shape(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// Constructors known to the language (interpreted where used).
pub const CONSTRUCTORS: &[&str] = &[
    "max_pool1d",
    "max_pool2d",
    "softmax",
    "elu",
    "keras_layer",
    "uniform",
    "gaussian",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "choice",
    "uniform_hypersphere",
    "scattered_hypersphere",
    "lowpass",
    "alpha",
    "linear_filter",
    "lstsq_l2",
    "no_solver",
    "sparse",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "avg_pool1d",
    "avg_pool2d",
    "white_noise",
    "white_signal",
    "present_input",
];

/// Compile-time math functions.
pub const CONST_FUNCTIONS: &[&str] = &[
    "sin", "cos", "tan", "exp", "log", "sqrt", "abs", "floor", "ceil", "round", "min", "max",
    "zeros", "ones", "eye", "linspace", "sum", "len", "tanh", "arctanh",
];

/// What the evaluator needs from its surroundings.
pub trait Env {
    /// The value bound to `name` (let, parameter, loop variable, weights), if any.
    fn lookup(&self, name: &str) -> Option<Value>;
    /// Whether `name` is a network definition (calls to it are instances, not values).
    fn is_network(&self, name: &str) -> bool;
    /// Tensor `name` of weights file `id`.
    fn tensor(&mut self, id: WeightsId, name: &str, span: Span) -> Result<ArrayD<f64>, Diagnostic>;
    /// Whether `name` was declared by a statement that failed with an error already reported:
    /// its uses are follow-on errors, never shown.
    fn is_failed(&self, _name: &str) -> bool {
        false
    }
    /// Account for `values` numbers of a constant array just made at `span`; an error once
    /// the constants of one check have made more than its memory allows.
    fn charge(&mut self, _values: usize, _span: Span) -> Result<(), Diagnostic> {
        Ok(())
    }
}

type R<T> = Result<T, Diagnostic>;

fn err(
    code: &'static str,
    msg: impl Into<String>,
    span: Span,
    label: impl Into<String>,
) -> Diagnostic {
    Diagnostic::error(code, msg, span, label)
}

/// Evaluate a constant expression (every array it makes charged to `env`).
pub fn eval(expr: &ast::Expr, env: &mut dyn Env) -> R<Value> {
    let v = eval_node(expr, env)?;
    if let Value::Array(a) = &v {
        env.charge(a.len(), expr.span)?;
    }
    Ok(v)
}

fn eval_node(expr: &ast::Expr, env: &mut dyn Env) -> R<Value> {
    let span = expr.span;
    match &expr.kind {
        ExprKind::Number { value, unit, text } => number(*value, text, unit.as_ref(), span),
        ExprKind::Str(s) => Ok(Value::Str(s.clone())),
        ExprKind::Bool(b) => Ok(Value::Bool(*b)),
        ExprKind::None => Ok(Value::None),
        ExprKind::Paren(e) => eval_node(e, env),
        ExprKind::Name(id) => lookup(&id.name, span, env),
        ExprKind::Vector(items) => {
            let vals =
                items.iter().map(|e| eval(e, env).map(|v| (v, e.span))).collect::<R<Vec<_>>>()?;
            stack(vals, span)
        }
        ExprKind::Unary { op, expr: inner } => {
            let v = eval(inner, env)?;
            match (op, v) {
                (UnaryOp::Neg, Value::Num(x, u)) => Ok(Value::Num(-x, u)),
                (UnaryOp::Neg, Value::Array(a)) => Ok(Value::Array(-a)),
                (UnaryOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
                (_, v) => Err(err(
                    codes::TYPE_MISMATCH,
                    format!("cannot apply this operator to {}", v.describe()),
                    inner.span,
                    "here",
                )),
            }
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let a = eval(lhs, env)?;
            let b = eval(rhs, env)?;
            binary(*op, a, b, lhs.span, rhs.span)
        }
        ExprKind::Call { callee, args } => call(callee, args, span, env),
        ExprKind::Index { base, indices } => {
            let b = eval(base, env)?;
            index(b, indices, span, env)
        }
        ExprKind::Field { base, field } => {
            let b = eval(base, env)?;
            match (b, field.name.as_str()) {
                (Value::Array(a), "T") => {
                    Ok(Value::Array(a.reversed_axes().as_standard_layout().to_owned()))
                }
                (Value::Weights(id), name) => Ok(Value::Array(env.tensor(id, name, field.span)?)),
                (v, name) => Err(err(
                    codes::UNKNOWN_FIELD,
                    format!("{} has no field `{name}`", v.describe()),
                    field.span,
                    "unknown field",
                )
                .with_help(
                    "arrays have `.T` (transpose); weights files are indexed as `w[\"name\"]`",
                )),
            }
        }
        ExprKind::Lambda(l) => Ok(Value::Lambda(Rc::new(l.clone()))),
    }
}

fn number(value: f64, text: &str, unit: Option<&ast::Ident>, span: Span) -> R<Value> {
    if !value.is_finite() {
        return Err(err(
            codes::BAD_LITERAL,
            format!("`{text}` is not a finite number"),
            span,
            "here",
        ));
    }
    let Some(u) = unit else { return Ok(Value::Num(value, Unit::One)) };
    let (scale, unit) = match u.name.as_str() {
        "s" => (1.0, Unit::Time),
        "ms" => (1e-3, Unit::Time),
        "us" => (1e-6, Unit::Time),
        "min" => (60.0, Unit::Time),
        "Hz" => (1.0, Unit::Freq),
        "kHz" => (1e3, Unit::Freq),
        other => {
            let guess =
                snn_syntax::diag::did_you_mean(other, ["s", "ms", "us", "min", "Hz", "kHz"]);
            let mut d =
                err(codes::BAD_LITERAL, format!("unknown unit `{other}`"), u.span, "unknown unit");
            d = d.with_help(match guess {
                Some(g) => format!("did you mean `{g}`? units are s, ms, us, min, Hz and kHz"),
                None => "units are s, ms, us, min, Hz and kHz".to_string(),
            });
            return Err(d);
        }
    };
    Ok(Value::Num(value * scale, unit))
}

/// What a built-in constant's name stands for (`pi` → "π = 3.14159…"), or `None`.
pub fn builtin_constant(name: &str) -> Option<&'static str> {
    match name {
        "pi" => Some("π = 3.14159…"),
        "e" => Some("e = 2.71828…"),
        "inf" => Some("inf (infinity)"),
        _ => None,
    }
}

fn lookup(name: &str, span: Span, env: &mut dyn Env) -> R<Value> {
    if let Some(v) = env.lookup(name) {
        return Ok(v);
    }
    match name {
        "pi" => return Ok(Value::Num(std::f64::consts::PI, Unit::One)),
        "e" => return Ok(Value::Num(std::f64::consts::E, Unit::One)),
        "inf" => return Ok(Value::Num(f64::INFINITY, Unit::One)),
        "valid" | "same" => return Ok(Value::Str(name.to_string())),
        _ => {}
    }
    if crate::spec::NeuronKind::from_name(name).is_some() || CONSTRUCTORS.contains(&name) {
        return Ok(Value::Ctor(Ctor { name: name.to_string(), args: Vec::new(), span }));
    }
    if env.is_failed(name) {
        return Err(err(crate::resolve::FOLLOW_ON, "follow-on", span, ""));
    }
    if env.is_network(name) {
        return Err(err(
            codes::WRONG_KIND,
            format!("`{name}` is a network, not a value"),
            span,
            "network",
        )
        .with_help(format!("instantiate it with `network NAME = {name}(…)`")));
    }
    Err(err(codes::UNKNOWN_NAME, format!("unknown name `{name}`"), span, "not declared"))
}

/// Stack evaluated items of a vector literal into an array (numbers or equal-shaped arrays).
fn stack(vals: Vec<(Value, Span)>, span: Span) -> R<Value> {
    let mut rows: Vec<ArrayD<f64>> = Vec::with_capacity(vals.len());
    for (v, s) in vals {
        match v {
            Value::Num(x, Unit::One) => rows.push(ArrayD::from_elem(IxDyn(&[]), x)),
            Value::Num(x, _) => rows.push(ArrayD::from_elem(IxDyn(&[]), x)),
            Value::Bool(b) => rows.push(ArrayD::from_elem(IxDyn(&[]), f64::from(u8::from(b)))),
            Value::Array(a) => rows.push(a),
            other => {
                return Err(err(
                    codes::TYPE_MISMATCH,
                    format!("a vector holds numbers, found {}", other.describe()),
                    s,
                    "not a number",
                ))
            }
        }
    }
    if rows.is_empty() {
        return Ok(Value::Array(ArrayD::zeros(IxDyn(&[0]))));
    }
    let shape0 = rows[0].shape().to_vec();
    if let Some(bad) = rows.iter().position(|r| r.shape() != shape0.as_slice()) {
        return Err(err(
            codes::SHAPE_MISMATCH,
            format!(
                "vector items have different shapes: {} and {}",
                fmt_shape(&shape0),
                fmt_shape(rows[bad].shape())
            ),
            span,
            "ragged vector",
        ));
    }
    let views: Vec<_> = rows.iter().map(|r| r.view()).collect();
    ndarray::stack(Axis(0), &views).map(Value::Array).map_err(|e| {
        err(codes::SHAPE_MISMATCH, format!("cannot build this array: {e}"), span, "here")
    })
}

/// Numeric view of a value: plain numbers and arrays.
/// A number, boolean or array as an array (an array borrowed, not copied).
fn as_array(v: &Value) -> Option<ndarray::CowArray<'_, f64, IxDyn>> {
    match v {
        Value::Num(x, _) => Some(ArrayD::from_elem(IxDyn(&[]), *x).into()),
        Value::Bool(b) => Some(ArrayD::from_elem(IxDyn(&[]), f64::from(u8::from(*b))).into()),
        Value::Array(a) => Some(a.view().into()),
        _ => None,
    }
}

fn unit_of(v: &Value) -> Unit {
    match v {
        Value::Num(_, u) => *u,
        _ => Unit::One,
    }
}

fn binary(op: BinaryOp, a: Value, b: Value, sa: Span, sb: Span) -> R<Value> {
    use BinaryOp::*;
    if let (And | Or, Value::Bool(x), Value::Bool(y)) = (op, &a, &b) {
        return Ok(Value::Bool(if op == And { *x && *y } else { *x || *y }));
    }
    let (Some(x), Some(y)) = (as_array(&a), as_array(&b)) else {
        let (bad, s) = if as_array(&a).is_none() { (&a, sa) } else { (&b, sb) };
        return Err(err(
            codes::TYPE_MISMATCH,
            format!("`{}` needs numbers, found {}", op.symbol(), bad.describe()),
            s,
            "not a number",
        ));
    };
    let (ua, ub) = (unit_of(&a), unit_of(&b));
    let unit = match op {
        Add | Sub | Lt | Le | Gt | Ge | Eq | Ne => {
            if ua != ub {
                return Err(err(
                    codes::TYPE_MISMATCH,
                    format!("`{}` between {} and {}", op.symbol(), ua.describe(), ub.describe()),
                    sa.to(sb),
                    "units differ",
                ));
            }
            ua
        }
        Mul => match (ua, ub) {
            (Unit::One, u) | (u, Unit::One) => u,
            (Unit::Time, Unit::Freq) | (Unit::Freq, Unit::Time) => Unit::One,
            _ => {
                return Err(err(
                    codes::TYPE_MISMATCH,
                    "this product has a unit snnc does not know",
                    sa.to(sb),
                    "unit",
                ))
            }
        },
        Div => match (ua, ub) {
            (u, Unit::One) => u,
            (a, b) if a == b => Unit::One,
            (Unit::One, Unit::Time) => Unit::Freq,
            (Unit::One, Unit::Freq) => Unit::Time,
            _ => {
                return Err(err(
                    codes::TYPE_MISMATCH,
                    "this quotient has a unit snnc does not know",
                    sa.to(sb),
                    "unit",
                ))
            }
        },
        Pow | And | Or => {
            if ua != Unit::One || ub != Unit::One {
                return Err(err(
                    codes::TYPE_MISMATCH,
                    format!("`{}` needs plain numbers", op.symbol()),
                    sa.to(sb),
                    "has a unit",
                ));
            }
            Unit::One
        }
    };
    let f: fn(f64, f64) -> f64 = match op {
        Add => |x, y| x + y,
        Sub => |x, y| x - y,
        Mul => |x, y| x * y,
        Div => |x, y| x / y,
        Pow => f64::powf,
        Lt => |x, y| f64::from(u8::from(x < y)),
        Le => |x, y| f64::from(u8::from(x <= y)),
        Gt => |x, y| f64::from(u8::from(x > y)),
        Ge => |x, y| f64::from(u8::from(x >= y)),
        Eq => |x, y| f64::from(u8::from(x == y)),
        Ne => |x, y| f64::from(u8::from(x != y)),
        And => |x, y| f64::from(u8::from(x != 0.0 && y != 0.0)),
        Or => |x, y| f64::from(u8::from(x != 0.0 || y != 0.0)),
    };
    if let Some(shape) = broadcast_shape(x.shape(), y.shape()) {
        constant_fits(&shape, sa.to(sb))?;
    }
    let out = broadcast2(&x.view(), &y.view(), f).ok_or_else(|| {
        err(
            codes::SHAPE_MISMATCH,
            format!(
                "`{}` between shapes {} and {}",
                op.symbol(),
                fmt_shape(x.shape()),
                fmt_shape(y.shape())
            ),
            sa.to(sb),
            "shapes do not broadcast",
        )
    })?;
    let is_cmp = matches!(op, Lt | Le | Gt | Ge | Eq | Ne);
    if out.ndim() == 0 {
        let v = out.iter().next().copied().unwrap_or(f64::NAN);
        if is_cmp {
            return Ok(Value::Bool(v != 0.0));
        }
    }
    if op == Div && y.iter().any(|d| *d == 0.0) {
        return Err(err(codes::EVAL, "division by zero in a constant expression", sb, "is zero"));
    }
    if !is_cmp && out.iter().any(|v| v.is_nan()) {
        return Err(err(
            codes::EVAL,
            format!("`{}` gives NaN (not a number) in a constant expression", op.symbol()),
            sa.to(sb),
            "not a number",
        )
        .with_help("e.g. `inf - inf`, `0 * inf` or a negative number to a fractional power"));
    }
    if out.ndim() == 0 {
        let v = out.iter().next().copied().unwrap_or(f64::NAN);
        return Ok(Value::Num(v, unit));
    }
    Ok(Value::Array(out))
}

/// NumPy's broadcast shape of `x` and `y`, or None when they do not broadcast.
fn broadcast_shape(x: &[usize], y: &[usize]) -> Option<Vec<usize>> {
    let nd = x.len().max(y.len());
    let mut shape = vec![0; nd];
    for (i, s) in shape.iter_mut().enumerate() {
        let dx = if i + x.len() >= nd { x[i + x.len() - nd] } else { 1 };
        let dy = if i + y.len() >= nd { y[i + y.len() - nd] } else { 1 };
        *s = if dx == dy || dy == 1 {
            dx
        } else if dx == 1 {
            dy
        } else {
            return None;
        };
    }
    Some(shape)
}

fn broadcast2(
    x: &ndarray::ArrayViewD<'_, f64>,
    y: &ndarray::ArrayViewD<'_, f64>,
    f: fn(f64, f64) -> f64,
) -> Option<ArrayD<f64>> {
    let shape = broadcast_shape(x.shape(), y.shape())?;
    let xb = x.broadcast(IxDyn(&shape))?;
    let yb = y.broadcast(IxDyn(&shape))?;
    let mut out = ArrayD::zeros(IxDyn(&shape));
    ndarray::Zip::from(&mut out).and(&xb).and(&yb).for_each(|o, &a, &b| *o = f(a, b));
    Some(out)
}

fn call(callee: &ast::Expr, args: &[ast::Arg], span: Span, env: &mut dyn Env) -> R<Value> {
    let name = match &callee.kind {
        ExprKind::Name(id) => Some(id.name.as_str()),
        _ => None,
    };
    if let Some(name) = name {
        // `tanh` is both a function and a neuron type: with named arguments (or none) it is the type.
        let neuron_call = crate::spec::NeuronKind::from_name(name).is_some()
            && (args.is_empty() || args.iter().any(|a| a.name.is_some()));
        if env.lookup(name).is_none() && CONST_FUNCTIONS.contains(&name) && !neuron_call {
            let vals = args
                .iter()
                .map(|a| {
                    if let Some(n) = &a.name {
                        return Err(err(
                            codes::UNKNOWN_ARGUMENT,
                            format!("`{name}` takes no named arguments"),
                            n.span,
                            "named",
                        ));
                    }
                    eval(&a.value, env).map(|v| (v, a.value.span))
                })
                .collect::<R<Vec<_>>>()?;
            return const_function(name, vals, span);
        }
    }
    let f = match eval(callee, env) {
        // `lifx(…)`: an unknown name in call position is an unknown function or neuron type
        Err(d) if d.code == codes::UNKNOWN_NAME && name.is_some() => {
            let name = name.unwrap_or_default();
            let known = crate::spec::NeuronKind::language_names()
                .chain(CONSTRUCTORS.iter().copied())
                .chain(CONST_FUNCTIONS.iter().copied());
            let mut d = err(
                codes::UNKNOWN_FUNCTION,
                format!("unknown function or neuron type `{name}`"),
                callee.span,
                "not a function, neuron type or constructor",
            );
            if let Some(g) = snn_syntax::diag::did_you_mean(name, known) {
                d = d.with_help(format!("did you mean `{g}`?"));
            }
            return Err(d);
        }
        other => other?,
    };
    let mut ctor = match f {
        Value::Ctor(c) => c,
        other => {
            return Err(err(
                codes::WRONG_KIND,
                format!("{} cannot be called", other.describe()),
                callee.span,
                "not a function",
            ))
        }
    };
    for a in args {
        let value = eval(&a.value, env)?;
        ctor.args.push(CtorArg {
            name: a.name.as_ref().map(|n| n.name.clone()),
            value,
            span: a.span,
            value_span: a.value.span,
        });
    }
    ctor.span = span;
    Ok(Value::Ctor(ctor))
}

fn num_arg(v: &(Value, Span), what: &str) -> R<f64> {
    match &v.0 {
        Value::Num(x, _) => Ok(*x),
        other => Err(err(
            codes::TYPE_MISMATCH,
            format!("{what} expects a number, found {}", other.describe()),
            v.1,
            "not a number",
        )),
    }
}

fn count_arg(v: &(Value, Span), what: &str) -> R<usize> {
    let x = num_arg(v, what)?;
    if x < 0.0 || x.fract() != 0.0 || x > 1e8 {
        return Err(err(
            codes::OUT_OF_RANGE,
            format!("{what} expects a whole number from 0 to 100000000, found {x}"),
            v.1,
            "here",
        ));
    }
    Ok(x as usize)
}

/// The most values one constant array may hold (1 GiB of `f64`).
pub const MAX_CONSTANT_VALUES: usize = 1 << 27;

/// Refuses (E0801 at `span`) an array of `shape` with more than [`MAX_CONSTANT_VALUES`].
fn constant_fits(shape: &[usize], span: Span) -> R<()> {
    let n = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    match n {
        Some(n) if n <= MAX_CONSTANT_VALUES => Ok(()),
        _ => Err(err(
            codes::LIMIT,
            format!(
                "a constant of shape {} is larger than the limit of {MAX_CONSTANT_VALUES} values (1 GiB)",
                fmt_shape(shape)
            ),
            span,
            "too large",
        )),
    }
}

fn const_function(name: &str, vals: Vec<(Value, Span)>, span: Span) -> R<Value> {
    let arity = |n: usize| -> R<()> {
        if vals.len() != n {
            return Err(err(
                codes::ARITY,
                format!("`{name}` takes {n} argument(s), found {}", vals.len()),
                span,
                "wrong number of arguments",
            ));
        }
        Ok(())
    };
    let unary: Option<fn(f64) -> f64> = match name {
        "sin" => Some(f64::sin),
        "cos" => Some(f64::cos),
        "tan" => Some(f64::tan),
        "exp" => Some(f64::exp),
        "log" => Some(f64::ln),
        "sqrt" => Some(f64::sqrt),
        "abs" => Some(f64::abs),
        "floor" => Some(f64::floor),
        "ceil" => Some(f64::ceil),
        "round" => Some(f64::round),
        "tanh" => Some(f64::tanh),
        "arctanh" => Some(f64::atanh),
        _ => None,
    };
    if let Some(f) = unary {
        arity(1)?;
        let out = match &vals[0].0 {
            Value::Num(x, Unit::One) => Ok(Value::Num(f(*x), Unit::One)),
            Value::Num(x, u) if matches!(name, "abs" | "floor" | "ceil" | "round") => {
                Ok(Value::Num(f(*x), *u))
            }
            Value::Array(a) => Ok(Value::Array(a.mapv(f))),
            other => Err(err(
                codes::TYPE_MISMATCH,
                format!("`{name}` expects a plain number or array, found {}", other.describe()),
                vals[0].1,
                "here",
            )),
        }?;
        let nan = match &out {
            Value::Num(x, _) => x.is_nan(),
            Value::Array(a) => a.iter().any(|x| x.is_nan()),
            _ => false,
        };
        if nan {
            return Err(err(
                codes::EVAL,
                format!("`{name}` gives NaN (not a number) here"),
                vals[0].1,
                "outside the function's domain",
            ));
        }
        return Ok(out);
    }
    match name {
        "min" | "max" => {
            if vals.is_empty() {
                return Err(err(
                    codes::ARITY,
                    format!("`{name}` needs at least one argument"),
                    span,
                    "no arguments",
                ));
            }
            let mut best = num_arg(&vals[0], name)?;
            let unit = unit_of(&vals[0].0);
            for v in &vals[1..] {
                let x = num_arg(v, name)?;
                best = if name == "min" { best.min(x) } else { best.max(x) };
            }
            Ok(Value::Num(best, unit))
        }
        "zeros" | "ones" => {
            let shape = vals.iter().map(|v| count_arg(v, name)).collect::<R<Vec<_>>>()?;
            constant_fits(&shape, span)?;
            let fill = if name == "zeros" { 0.0 } else { 1.0 };
            Ok(Value::Array(ArrayD::from_elem(IxDyn(&shape), fill)))
        }
        "eye" => {
            arity(1)?;
            let n = count_arg(&vals[0], name)?;
            constant_fits(&[n, n], span)?;
            Ok(Value::Array(ndarray::Array2::eye(n).into_dyn()))
        }
        "linspace" => {
            arity(3)?;
            let (a, b, n) =
                (num_arg(&vals[0], name)?, num_arg(&vals[1], name)?, count_arg(&vals[2], name)?);
            constant_fits(&[n], span)?;
            Ok(Value::Array(ndarray::Array1::linspace(a, b, n).into_dyn()))
        }
        "sum" => {
            arity(1)?;
            match &vals[0].0 {
                Value::Array(a) => Ok(Value::Num(a.sum(), Unit::One)),
                Value::Num(x, u) => Ok(Value::Num(*x, *u)),
                other => Err(err(
                    codes::TYPE_MISMATCH,
                    format!("`sum` expects an array, found {}", other.describe()),
                    vals[0].1,
                    "here",
                )),
            }
        }
        "len" => {
            arity(1)?;
            match &vals[0].0 {
                Value::Array(a) if a.ndim() > 0 => Ok(Value::Num(a.shape()[0] as f64, Unit::One)),
                other => Err(err(
                    codes::TYPE_MISMATCH,
                    format!("`len` expects an array, found {}", other.describe()),
                    vals[0].1,
                    "here",
                )),
            }
        }
        _ => {
            Err(err(codes::UNKNOWN_FUNCTION, format!("unknown function `{name}`"), span, "unknown"))
        }
    }
}

fn index(base: Value, indices: &[ast::Index], span: Span, env: &mut dyn Env) -> R<Value> {
    if let Value::Weights(id) = base {
        let [ast::Index::Expr(e)] = indices else {
            return Err(err(
                codes::WRONG_KIND,
                "a weights file is indexed by one tensor name",
                span,
                "expected `w[\"name\"]`",
            ));
        };
        return match eval(e, env)? {
            Value::Str(name) => Ok(Value::Array(env.tensor(id, &name, e.span)?)),
            other => Err(err(
                codes::TYPE_MISMATCH,
                format!("tensor names are strings, found {}", other.describe()),
                e.span,
                "not a string",
            )),
        };
    }
    let Value::Array(mut a) = base else {
        return Err(err(
            codes::WRONG_KIND,
            format!("{} cannot be indexed", base.describe()),
            span,
            "not an array",
        ));
    };
    for (axis_pos, idx) in indices.iter().enumerate() {
        let axis = Axis(axis_pos.min(a.ndim()));
        if axis.0 >= a.ndim() {
            return Err(err(
                codes::INDEX_RANGE,
                format!("too many indices for an array of shape {}", fmt_shape(a.shape())),
                idx.span(),
                "extra index",
            ));
        }
        let len = a.shape()[axis.0];
        let picks = index_list(idx, len, env)?;
        a = a.select(axis, &picks);
        if let ast::Index::Expr(e) = idx {
            if matches!(eval(e, env)?, Value::Num(..)) {
                a = a.index_axis_move(axis, 0);
            }
        }
    }
    let _ = span;
    if a.ndim() == 0 {
        return Ok(Value::Num(a.iter().next().copied().unwrap_or(f64::NAN), Unit::One));
    }
    Ok(Value::Array(a))
}

/// Resolve an index or slice against an axis of length `len` into explicit positions.
pub fn index_list(idx: &ast::Index, len: usize, env: &mut dyn Env) -> R<Vec<usize>> {
    let int = |v: Value, s: Span| -> R<i64> {
        match v {
            Value::Num(x, Unit::One) if x.fract() == 0.0 => Ok(x as i64),
            other => Err(err(
                codes::TYPE_MISMATCH,
                format!("indices are whole numbers, found {}", other.describe()),
                s,
                "not an index",
            )),
        }
    };
    let norm = |i: i64, s: Span| -> R<usize> {
        let j = if i < 0 { i + len as i64 } else { i };
        if j < 0 || j >= len as i64 {
            return Err(err(
                codes::INDEX_RANGE,
                format!("index {i} is out of range for length {len}"),
                s,
                format!("valid indices are 0..{len}"),
            ));
        }
        Ok(j as usize)
    };
    match idx {
        ast::Index::Expr(e) => match eval(e, env)? {
            Value::Num(..) => {
                let v = eval(e, env)?;
                Ok(vec![norm(int(v, e.span)?, e.span)?])
            }
            Value::Array(a) if a.ndim() == 1 => a
                .iter()
                .map(|&x| {
                    if x.fract() == 0.0 {
                        norm(x as i64, e.span)
                    } else {
                        Err(err(codes::TYPE_MISMATCH, "indices are whole numbers", e.span, "here"))
                    }
                })
                .collect(),
            other => Err(err(
                codes::TYPE_MISMATCH,
                format!("an index is a number, a list or a slice, found {}", other.describe()),
                e.span,
                "here",
            )),
        },
        ast::Index::Slice { start, stop, step, span } => {
            let get = |e: &Option<ast::Expr>, env: &mut dyn Env| -> R<Option<i64>> {
                match e {
                    Some(e) => {
                        let v = eval(e, env)?;
                        Ok(Some(int(v, e.span)?))
                    }
                    None => Ok(None),
                }
            };
            let step = get(step, env)?.unwrap_or(1);
            if step == 0 {
                return Err(err(
                    codes::INDEX_RANGE,
                    "slice step cannot be zero",
                    *span,
                    "zero step",
                ));
            }
            let n = len as i64;
            // Bounds are strict: a slice that reaches past the end is an error, not clamped.
            let bound = |e: &Option<ast::Expr>, env: &mut dyn Env| -> R<Option<i64>> {
                let Some(v) = get(e, env)? else { return Ok(None) };
                let j = if v < 0 { v + n } else { v };
                if j < 0 || j > n {
                    let s = e.as_ref().map(|e| e.span).unwrap_or(*span);
                    return Err(err(
                        codes::INDEX_RANGE,
                        format!("slice bound {v} is out of range for length {len}"),
                        s,
                        format!("valid bounds are 0..={len}"),
                    ));
                }
                Ok(Some(j))
            };
            let a = bound(start, env)?.unwrap_or(if step > 0 { 0 } else { n - 1 });
            let b = bound(stop, env)?.unwrap_or(if step > 0 { n } else { -1 });
            let mut res = Vec::new();
            let mut i = a;
            while (step > 0 && i < b) || (step < 0 && i > b) {
                if i >= 0 && i < n {
                    res.push(i as usize);
                }
                i += step;
            }
            Ok(res)
        }
    }
}
