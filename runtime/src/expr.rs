//! Expression trees of node functions and decoded functions (`FnExpr`): what the compiler
//! makes of a lambda and what `NodeFn` ops evaluate, on every backend (the JIT unrolls small
//! ones into generated code calling the same routines, [`Fn1::apply`] and [`apply_binary`]).

use serde::{Deserialize, Serialize};

/// A compiled function: `body` over the variables `t` (time) and `x` (the input vector).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FnExpr {
    /// The expression tree.
    pub body: FExpr,
    /// Input size (0 when the function takes only time).
    pub size_in: usize,
    /// Output size.
    pub size_out: usize,
}

/// Elementwise functions of one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// Elementwise operators of two arguments (comparisons and logic give 0 or 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fn2 {
    /// `||`
    Or,
    /// `&&`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `^`
    Pow,
}

/// Reductions of a vector to a scalar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    Binary(Fn2, Box<FExpr>, Box<FExpr>),
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
pub fn apply_binary(op: Fn2, x: f64, y: f64) -> f64 {
    match op {
        Fn2::Add => x + y,
        Fn2::Sub => x - y,
        Fn2::Mul => x * y,
        Fn2::Div => x / y,
        Fn2::Pow => x.powf(y),
        Fn2::Lt => f64::from(u8::from(x < y)),
        Fn2::Le => f64::from(u8::from(x <= y)),
        Fn2::Gt => f64::from(u8::from(x > y)),
        Fn2::Ge => f64::from(u8::from(x >= y)),
        Fn2::Eq => f64::from(u8::from(x == y)),
        Fn2::Ne => f64::from(u8::from(x != y)),
        Fn2::And => f64::from(u8::from(x != 0.0 && y != 0.0)),
        Fn2::Or => f64::from(u8::from(x != 0.0 || y != 0.0)),
    }
}
