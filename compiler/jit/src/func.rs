//! Node and decoded functions ([`FnExpr`]) compiled to straight-line code in `f64` (as the
//! interpreter evaluates them), one value per element; transcendental functions are host calls
//! to the very routines [`snn_compiler::func::Fn1::apply`] uses. Functions too large to unroll run on
//! the host ([`snn_exec::kernels::host::NodeFn`]).

use super::emit::{bug, Gen, I};
use super::float::JitFloat;
use super::JitError;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use snn_compiler::func::Fn2;
use snn_compiler::func::{FExpr, Fn1, FnExpr, Reduce};
use snn_compiler::ir::SignalId;
use snn_exec::kernels::host::NodeFn;
use snn_exec::symbols::fn1_symbol;
use snn_exec::KernelSpec;

/// Node functions whose expression tree holds more values than this run on the host.
const MAX_VALUES: usize = 4096;

/// Values computed by the nodes of `e` (an estimate of the code size).
fn cost(e: &FExpr, n_in: usize) -> usize {
    match e {
        FExpr::Const(v) => v.len(),
        FExpr::Time => 1,
        FExpr::Input => n_in,
        FExpr::Unary(_, a) | FExpr::Reduce(_, a) => 1 + 2 * cost(a, n_in),
        FExpr::Binary(_, a, b) | FExpr::Atan2(a, b) => 1 + 2 * (cost(a, n_in) + cost(b, n_in)),
        FExpr::Where(c, a, b) => 1 + 2 * (cost(c, n_in) + cost(a, n_in) + cost(b, n_in)),
        FExpr::Concat(parts) => parts.iter().map(|p| cost(p, n_in)).sum(),
        FExpr::Gather(a, idx) => idx.len() + cost(a, n_in),
    }
}

impl<T: JitFloat> Gen<'_, '_, T> {
    /// A `NodeFn` op: `dst = f(t, input)`.
    pub(super) fn op_node_fn(
        &mut self,
        f: &FnExpr,
        input: Option<SignalId>,
        dst: SignalId,
    ) -> Result<(), JitError> {
        let (d, nd) = self.sig(dst)?;
        let src = input.map(|s| self.sig(s)).transpose()?;
        let n_in = src.map_or(0, |s| s.1);
        if cost(&f.body, n_in) > MAX_VALUES {
            let kernel = NodeFn { f: f.clone(), src, dst: (d, nd), dt: self.dt };
            return self.kernel(KernelSpec::NodeFn(kernel), "NodeFn: large function".to_string());
        }
        let mut x = Vec::with_capacity(n_in);
        if let Some((off, n)) = src {
            for i in 0..n {
                let v = self.ldm(off, I::C(i))?;
                x.push(self.widen(v));
            }
        }
        let mut y = self.fexpr(&f.body, &x)?;
        if y.len() != f.size_out {
            let first = match y.first() {
                Some(&v) => v,
                None => self.f64c(0.0),
            };
            y = vec![first; f.size_out];
        }
        for (i, &v) in y.iter().take(nd).enumerate() {
            let v = self.narrow(v);
            self.stm(v, d, I::C(i))?;
        }
        Ok(())
    }

    /// `T` → `f64`.
    fn widen(&mut self, v: Value) -> Value {
        if T::TY == types::F64 {
            v
        } else {
            self.b.ins().fpromote(types::F64, v)
        }
    }

    /// `f64` → `T` (rounding as `as f32`).
    fn narrow(&mut self, v: Value) -> Value {
        if T::TY == types::F64 {
            v
        } else {
            self.b.ins().fdemote(T::TY, v)
        }
    }

    fn bool_f(&mut self, c: Value) -> Value {
        let one = self.f64c(1.0);
        let zero = self.f64c(0.0);
        self.select(c, one, zero)
    }

    fn call_f64(&mut self, name: &str, args: &[Value]) -> Result<Value, JitError> {
        let params = vec![types::F64; args.len()];
        let r = self.call(name, &params, &[types::F64], args)?;
        r.first().copied().ok_or_else(|| bug("f64 call result"))
    }

    fn unary(&mut self, f: Fn1, x: Value) -> Result<Value, JitError> {
        Ok(match f {
            Fn1::Neg => self.b.ins().fneg(x),
            Fn1::Abs => self.b.ins().fabs(x),
            Fn1::Sqrt => self.b.ins().sqrt(x),
            Fn1::Floor => self.b.ins().floor(x),
            Fn1::Ceil => self.b.ins().ceil(x),
            Fn1::Not => {
                let zero = self.f64c(0.0);
                let c = self.fcmp(FloatCC::Equal, x, zero);
                self.bool_f(c)
            }
            Fn1::Sign => {
                let zero = self.f64c(0.0);
                let one = self.f64c(1.0);
                let m1 = self.f64c(-1.0);
                let neg = self.fcmp(FloatCC::LessThan, x, zero);
                let lo = self.select(neg, m1, zero);
                let pos = self.fcmp(FloatCC::GreaterThan, x, zero);
                self.select(pos, one, lo)
            }
            other => {
                let sym = fn1_symbol(other).ok_or_else(|| bug("fn1 symbol"))?;
                self.call_f64(sym, &[x])?
            }
        })
    }

    fn binary(&mut self, op: Fn2, x: Value, y: Value) -> Result<Value, JitError> {
        let cmp = |g: &mut Self, cc: FloatCC| {
            let c = g.fcmp(cc, x, y);
            g.bool_f(c)
        };
        Ok(match op {
            Fn2::Add => self.b.ins().fadd(x, y),
            Fn2::Sub => self.b.ins().fsub(x, y),
            Fn2::Mul => self.b.ins().fmul(x, y),
            Fn2::Div => self.b.ins().fdiv(x, y),
            Fn2::Pow => self.call_f64("snn_pow", &[x, y])?,
            Fn2::Lt => cmp(self, FloatCC::LessThan),
            Fn2::Le => cmp(self, FloatCC::LessThanOrEqual),
            Fn2::Gt => cmp(self, FloatCC::GreaterThan),
            Fn2::Ge => cmp(self, FloatCC::GreaterThanOrEqual),
            Fn2::Eq => cmp(self, FloatCC::Equal),
            Fn2::Ne => cmp(self, FloatCC::NotEqual),
            Fn2::And | Fn2::Or => {
                let zero = self.f64c(0.0);
                let a = self.fcmp(FloatCC::NotEqual, x, zero);
                let b = self.fcmp(FloatCC::NotEqual, y, zero);
                let c =
                    if op == Fn2::And { self.b.ins().band(a, b) } else { self.b.ins().bor(a, b) };
                self.bool_f(c)
            }
        })
    }

    /// Element `i` with broadcasting of single values (NaN past the end, as `func::pick`).
    fn pick(&mut self, v: &[Value], i: usize) -> Value {
        if v.len() == 1 {
            v[0]
        } else {
            match v.get(i) {
                Some(&x) => x,
                None => self.f64c(f64::NAN),
            }
        }
    }

    /// The values of `e` (`x`: the input, widened).
    fn fexpr(&mut self, e: &FExpr, x: &[Value]) -> Result<Vec<Value>, JitError> {
        Ok(match e {
            FExpr::Const(v) => v.iter().map(|&c| self.f64c(c)).collect(),
            FExpr::Time => vec![self.t],
            FExpr::Input => x.to_vec(),
            FExpr::Unary(f, a) => {
                let a = self.fexpr(a, x)?;
                a.into_iter().map(|v| self.unary(*f, v)).collect::<Result<_, _>>()?
            }
            FExpr::Binary(op, a, b) => {
                let (a, b) = (self.fexpr(a, x)?, self.fexpr(b, x)?);
                let n = a.len().max(b.len());
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    let (p, q) = (self.pick(&a, i), self.pick(&b, i));
                    out.push(self.binary(*op, p, q)?);
                }
                out
            }
            FExpr::Atan2(a, b) => {
                let (a, b) = (self.fexpr(a, x)?, self.fexpr(b, x)?);
                let n = a.len().max(b.len());
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    let (p, q) = (self.pick(&a, i), self.pick(&b, i));
                    out.push(self.call_f64("snn_atan2", &[p, q])?);
                }
                out
            }
            FExpr::Where(c, a, b) => {
                let (c, a, b) = (self.fexpr(c, x)?, self.fexpr(a, x)?, self.fexpr(b, x)?);
                let n = c.len().max(a.len()).max(b.len());
                let zero = self.f64c(0.0);
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    let (ci, ai, bi) = (self.pick(&c, i), self.pick(&a, i), self.pick(&b, i));
                    let cond = self.fcmp(FloatCC::NotEqual, ci, zero);
                    out.push(self.select(cond, ai, bi));
                }
                out
            }
            FExpr::Reduce(r, a) => {
                let v = self.fexpr(a, x)?;
                vec![self.reduce(*r, &v)]
            }
            FExpr::Concat(parts) => {
                let mut out = Vec::new();
                for p in parts {
                    out.extend(self.fexpr(p, x)?);
                }
                out
            }
            FExpr::Gather(a, idx) => {
                let v = self.fexpr(a, x)?;
                idx.iter()
                    .map(|&i| match v.get(i) {
                        Some(&x) => x,
                        None => self.f64c(f64::NAN),
                    })
                    .collect()
            }
        })
    }

    /// A reduction with the interpreter's fold order and start values.
    fn reduce(&mut self, r: Reduce, v: &[Value]) -> Value {
        let sum = |g: &mut Self, v: &[Value]| {
            let mut acc = g.f64c(-0.0);
            for &x in v {
                acc = g.b.ins().fadd(acc, x);
            }
            acc
        };
        match r {
            Reduce::Sum => sum(self, v),
            Reduce::Prod => {
                let mut acc = self.f64c(1.0);
                for &x in v {
                    acc = self.b.ins().fmul(acc, x);
                }
                acc
            }
            Reduce::Mean => {
                let s = sum(self, v);
                let n = self.f64c(v.len().max(1) as f64);
                self.b.ins().fdiv(s, n)
            }
            Reduce::Norm => {
                let sq: Vec<Value> = v.iter().map(|&q| self.b.ins().fmul(q, q)).collect();
                let s = sum(self, &sq);
                self.b.ins().sqrt(s)
            }
            Reduce::Min | Reduce::Max => {
                let (start, cc) = if r == Reduce::Min {
                    (f64::INFINITY, FloatCC::LessThan)
                } else {
                    (f64::NEG_INFINITY, FloatCC::GreaterThan)
                };
                let mut acc = self.f64c(start);
                for &x in v {
                    // f64::min/max: a NaN argument yields the other one.
                    let better = self.fcmp(cc, x, acc);
                    acc = self.select(better, x, acc);
                }
                acc
            }
        }
    }
}
