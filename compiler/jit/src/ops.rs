//! Code for the data-movement and linear ops: Input, Reset, Copy, ElementwiseInc, DotInc
//! (vectorised, in ndarray's summation order so results equal the interpreter's bit for bit),
//! SparseDotInc (CSR), Filter (the ZOH discrete filters), and probe sampling.

use super::emit::{bug, flags, Elem, Gen, Ix, Loop, I, UNROLL};
use super::float::JitFloat;
use super::JitError;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use ndarray::Array2;
use snn_compiler::ir::{ProbeDecl, Sel, SignalId};
use snn_runtime::synapse::{DiscreteFilter, FilterKind};

impl<'f, 'm, T: JitFloat> Gen<'f, 'm, T> {
    /// The region holding `src`'s values for an op writing `dst`: the signal itself, or a
    /// scratch copy when they are the same signal (the interpreter reads a copy then too).
    pub(super) fn source(&mut self, src: SignalId, dst: SignalId) -> Result<usize, JitError> {
        let (off, n) = self.sig(src)?;
        if src != dst {
            return Ok(off);
        }
        let scratch = self.res.alloc(n);
        self.copy(off, scratch, n)?;
        Ok(scratch)
    }

    /// `dst = input[k]` (per-step inputs advance by a stride the driver sets; held ones do not).
    pub(super) fn op_input(&mut self, input: usize, dst: SignalId) -> Result<(), JitError> {
        let (d, n) = self.sig(dst)?;
        let &(ps, ss) = self.res.inputs.get(input).ok_or_else(|| bug("input slot"))?;
        let p = self.ld_ctx(ps);
        let stride = self.ld_ctx(ss);
        let km1 = self.b.ins().iadd_imm_s(self.k, -1);
        let off = self.b.ins().imul(km1, stride);
        let src = self.b.ins().iadd(p, off);
        self.for_n(n, |g, i| {
            let v = g.ld(src, 0, i)?;
            g.stm(v, d, i)
        })
    }

    /// `dst = value` (length 1 broadcasts).
    pub(super) fn op_reset<'c>(
        &mut self,
        dst: SignalId,
        value: &[f64],
    ) -> Result<Loop<'c, 'f, 'm, T>, JitError> {
        let (d, n) = self.sig(dst)?;
        if value.len() == 1 {
            let x = T::cast(value[0]);
            return Ok((
                n,
                Elem::Vector(Box::new(move |g: &mut Gen<'f, 'm, T>, i| {
                    let v = g.fc(x);
                    g.stm(v, d, i)
                })),
            ));
        }
        if value.len() != n {
            return Err(JitError::Invalid(format!(
                "reset of {} values into a signal of {n}",
                value.len()
            )));
        }
        let c = self.fconst(value.iter().map(|&x| T::cast(x)).collect())?;
        Ok((
            n,
            Elem::Vector(Box::new(move |g: &mut Gen<'f, 'm, T>, i| {
                let v = g.cget(&c, i)?;
                g.stm(v, d, i)
            })),
        ))
    }

    /// `dst[dst_sel] (+)= scale * src[src_sel]` (Copy without scale; scale of length 1 broadcasts).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn op_copy<'c>(
        &mut self,
        src: SignalId,
        dst: SignalId,
        src_sel: &Sel,
        dst_sel: &Sel,
        inc: bool,
        scale: Option<&[f64]>,
    ) -> Result<Loop<'c, 'f, 'm, T>, JitError> {
        let (_, ns) = self.sig(src)?;
        let (d, nd) = self.sig(dst)?;
        let s = self.source(src, dst)?;
        let (six, ls) = self.ix(src_sel, ns)?;
        let (dix, ld) = self.ix(dst_sel, nd)?;
        let mut n = ls.min(ld);
        let scale = match scale {
            // `x * 1` is `x`.
            None => None,
            Some([a]) if *a == 1.0 => None,
            Some([a]) => Some(Err(T::cast(*a))),
            Some(v) => {
                n = n.min(v.len());
                Some(Ok(self.fconst(v.iter().map(|&x| T::cast(x)).collect())?))
            }
        };
        let vector = matches!((&six, &dix), (Ix::Range(_), Ix::Range(_)));
        let each = move |g: &mut Gen<'f, 'm, T>, i: I| -> Result<(), JitError> {
            let mut x = g.ld_sel(s, &six, i)?;
            match &scale {
                None => {}
                Some(Err(a)) => {
                    let a = g.fc(*a);
                    x = g.b.ins().fmul(x, a);
                }
                Some(Ok(c)) => {
                    let a = g.cget(c, i)?;
                    x = g.b.ins().fmul(x, a);
                }
            }
            if inc {
                let old = g.ld_sel(d, &dix, i)?;
                x = g.b.ins().fadd(old, x);
            }
            g.st_sel(x, d, &dix, i)
        };
        Ok((n, if vector { Elem::Vector(Box::new(each)) } else { Elem::Scalar(Box::new(each)) }))
    }

    /// `dst[dst_sel] += mat @ src[src_sel]`. Rows summed sequentially (`0 + m[r,0] x[0] +
    /// m[r,1] x[1] + …`: fewer than 8 columns, or a column-major matrix) are an elementwise loop
    /// over the rows when there are at most 16 columns (returned, for
    /// [`crate::fuse`] to fuse or to run alone), else emitted; other rows are summed in
    /// snnc's dot order, written down once in [`snn_runtime::kernels::dense`] (eight partial sums,
    /// then `0 + (p0 + p4) + … + (p3 + p7)`, then the remainder; ndarray's `unrolled_dot`), with
    /// vectors holding the partial sums; large ones call that module's kernel. The test
    /// `generated_dots_are_the_runtime_order` pairs this code with the runtime kernel bit for bit.
    pub(super) fn op_dot<'c>(
        &mut self,
        mat: &Array2<f64>,
        src: SignalId,
        dst: SignalId,
        src_sel: &Sel,
        dst_sel: &Sel,
    ) -> Result<Option<Loop<'c, 'f, 'm, T>>, JitError> {
        let (m, kk) = mat.dim();
        let (s_off, ns) = self.sig(src)?;
        let (d, nd) = self.sig(dst)?;
        let (six, ls) = self.ix(src_sel, ns)?;
        let (dix, ld) = self.ix(dst_sel, nd)?;
        if ls != kk || (dst_sel.is_none() && ld != m) {
            return Err(JitError::Invalid(format!(
                "matrix [{m}, {kk}] applied to {ls} values into {ld}"
            )));
        }
        let m = m.min(ld);
        // The interpreter's rows (`mat` cast with `mapv`, which keeps the layout) go through
        // `snn_runtime::kernels::dense::dot_rows`: contiguous ones summed by `dense::dot`, others
        // (a column-major matrix) by `dense::dot_sequential`, `0 + m[r,0] x[0] + m[r,1] x[1] + …`,
        // which is also `dot`'s order for fewer than 8 columns.
        let rows_contiguous = m == 0 || mat.mapv(|v| v).row(0).as_slice().is_some();
        let sequential = kk < 8 || !rows_contiguous;
        if sequential && kk > 16 {
            return self.dot_sequential(mat, src, dst, &six, &dix, m).map(|()| None);
        }
        if sequential {
            let cols: Vec<_> = mat
                .columns()
                .into_iter()
                .map(|c| self.fconst(c.iter().take(m).map(|&v| T::cast(v)).collect()))
                .collect::<Result<_, _>>()?;
            // The values, loaded once before the loop (when fused, no op of the loop writes
            // them: `fuse`; when the source is the destination, its values before the product,
            // as the interpreter reads them), as scalars and in every lane.
            let mut xs = Vec::with_capacity(kk);
            for j in 0..kk {
                let x = self.ld_sel(s_off, &six, I::C(j))?;
                xs.push((x, self.b.ins().splat(T::VEC, x)));
            }
            let vector = matches!(dix, Ix::Range(_));
            let body = move |g: &mut Gen<'f, 'm, T>, i: I| {
                let mut acc = g.fc(T::zero());
                for (c, &(xs, xv)) in cols.iter().zip(&xs) {
                    let x = if g.in_vectors() { xv } else { xs };
                    let a = g.cget(c, i)?;
                    let p = g.b.ins().fmul(a, x);
                    acc = g.b.ins().fadd(acc, p);
                }
                let old = g.ld_sel(d, &dix, i)?;
                let new = g.b.ins().fadd(old, acc);
                g.st_sel(new, d, &dix, i)
            };
            let elem =
                if vector { Elem::Vector(Box::new(body)) } else { Elem::Scalar(Box::new(body)) };
            return Ok(Some((m, elem)));
        }
        // Contiguous rows of at least 8: a large matrix through the Rust kernel, else generated.
        if m * kk >= super::specs::MIN_TERMS {
            let kernel = super::specs::dense_rows(mat, m, (s_off, ns), (d, nd), src_sel, dst_sel)?;
            return self.kernel(kernel, "DotInc: Rust dense kernel".to_string()).map(|()| None);
        }
        let x = self.contiguous(src, dst, &six, kk)?;
        let c = self.fconst(mat.iter().map(|&v| T::cast(v)).collect())?;
        let chunks = kk / 8;
        let nv = 8 / T::LANES;
        let base = self.cptr(c.at as i32 * T::SIZE as i32);
        let rows = self.for_n(m, |g, r| {
            let row = match r {
                I::C(r) => g.b.ins().iadd_imm_s(base, (r * kk) as i64 * T::SIZE),
                I::V(r) => {
                    let o = g.b.ins().imul_imm_s(r, kk as i64 * T::SIZE);
                    g.b.ins().iadd(base, o)
                }
            };
            let zero = g.fc(T::zero());
            let zv = g.b.ins().splat(T::VEC, zero);
            let init = vec![zv; nv];
            let start = g.ic(0);
            let end = g.ic(chunks as i64);
            let accs = g.loop_carry(start, end, &init, |g, ch, acc| {
                let mut out = Vec::with_capacity(nv);
                // Element c*8 + v*LANES: vector index c*nv + v.
                let vi = g.b.ins().imul_imm_s(ch, nv as i64);
                for (v, &a) in acc.iter().enumerate() {
                    let mv = g.ldv(row, v * T::LANES, I::V(vi))?;
                    let xv = g.ldv(g.mem, x + v * T::LANES, I::V(vi))?;
                    let p = g.b.ins().fmul(mv, xv);
                    out.push(g.b.ins().fadd(a, p));
                }
                Ok(out)
            })?;
            // sum = 0 + (p0 + p4) + (p1 + p5) + (p2 + p6) + (p3 + p7).
            let mut pairs = Vec::with_capacity(4);
            if T::LANES == 2 {
                let a = g.b.ins().fadd(accs[0], accs[2]);
                let b = g.b.ins().fadd(accs[1], accs[3]);
                for v in [a, b] {
                    for l in 0..2u8 {
                        pairs.push(g.b.ins().extractlane(v, l));
                    }
                }
            } else {
                let a = g.b.ins().fadd(accs[0], accs[1]);
                for l in 0..4u8 {
                    pairs.push(g.b.ins().extractlane(a, l));
                }
            }
            let mut sum = zero;
            for p in pairs {
                sum = g.b.ins().fadd(sum, p);
            }
            for j in chunks * 8..kk {
                let a = g.ld(row, j, I::C(0))?;
                let xv = g.ldm(x + j, I::C(0))?;
                let p = g.b.ins().fmul(a, xv);
                sum = g.b.ins().fadd(sum, p);
            }
            let old = g.ld_sel(d, &dix, r)?;
            let new = g.b.ins().fadd(old, sum);
            g.st_sel(new, d, &dix, r)
        });
        rows.map(|()| None)
    }

    /// The `n` selected values of `src` in one run: in place, or gathered into scratch when
    /// selected by a table or when `src` is also written (`dst`).
    fn contiguous(
        &mut self,
        src: SignalId,
        dst: SignalId,
        six: &Ix,
        n: usize,
    ) -> Result<usize, JitError> {
        let (s_off, _) = self.sig(src)?;
        match (six, src == dst) {
            (Ix::Range(start), false) => Ok(s_off + start),
            _ => {
                let scratch = self.res.alloc(n);
                self.for_n(n, |g, i| {
                    let v = g.ld_sel(s_off, six, i)?;
                    g.stm(v, scratch, i)
                })?;
                Ok(scratch)
            }
        }
    }

    /// `dst += mat @ x` with each row summed sequentially (`0 + m[r,0] x[0] + …`), vectorised
    /// across rows over the transposed matrix.
    fn dot_sequential(
        &mut self,
        mat: &Array2<f64>,
        src: SignalId,
        dst: SignalId,
        six: &Ix,
        dix: &Ix,
        m: usize,
    ) -> Result<(), JitError> {
        let kk = mat.ncols();
        let (d, _) = self.sig(dst)?;
        let x = self.contiguous(src, dst, six, kk)?;
        let mt: Vec<T> = (0..kk)
            .flat_map(|j| (0..m).map(move |r| (j, r)))
            .map(|(j, r)| T::cast(mat[(r, j)]))
            .collect();
        let c = self.fconst(mt)?;
        let base = self.cptr(c.at as i32 * T::SIZE as i32);
        let zero = self.fc(T::zero());
        let lanes = T::LANES;
        let vec_rows = if let Ix::Range(_) = dix { m / lanes } else { 0 };
        if let (Ix::Range(start), true) = (dix, vec_rows > 0) {
            let start = *start;
            self.for_n(vec_rows, |g, i| {
                let zv = g.b.ins().splat(T::VEC, zero);
                let (s, e) = (g.ic(0), g.ic(kk as i64));
                let acc = g.loop_carry(s, e, &[zv], |g, j, acc| {
                    let jm = g.b.ins().imul_imm_s(j, (m as i64) * T::SIZE);
                    let p = g.b.ins().iadd(base, jm);
                    let a = g.ldv(p, 0, i)?;
                    let xj = g.ldm(x, I::V(j))?;
                    let xv = g.b.ins().splat(T::VEC, xj);
                    let prod = g.b.ins().fmul(a, xv);
                    Ok(vec![g.b.ins().fadd(acc[0], prod)])
                })?;
                let old = g.ldv(g.mem, d + start, i)?;
                let new = g.b.ins().fadd(old, acc[0]);
                g.stv(new, g.mem, d + start, i)
            })?;
        }
        let done = vec_rows * lanes;
        self.for_n(m - done, |g, r| {
            let (s, e) = (g.ic(0), g.ic(kk as i64));
            let acc = g.loop_carry(s, e, &[zero], |g, j, acc| {
                let jm = g.b.ins().imul_imm_s(j, (m as i64) * T::SIZE);
                let p = g.b.ins().iadd(base, jm);
                let a = g.ld(p, done, r)?;
                let xj = g.ldm(x, I::V(j))?;
                let prod = g.b.ins().fmul(a, xj);
                Ok(vec![g.b.ins().fadd(acc[0], prod)])
            })?;
            let ri = match r {
                I::C(r) => I::C(r + done),
                I::V(v) => I::V(g.b.ins().iadd_imm_s(v, done as i64)),
            };
            let old = g.ld_sel(d, dix, ri)?;
            let new = g.b.ins().fadd(old, acc[0]);
            g.st_sel(new, d, dix, ri)
        })
    }

    /// `dst[dst_sel] += sparse @ src[src_sel]`: per output row (stored CSR, entries of a row in
    /// their original order) `0 + v x + …` is summed, then added, as the interpreter does.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn op_sparse(
        &mut self,
        rows: &[usize],
        cols: &[usize],
        vals: &[f64],
        src: SignalId,
        dst: SignalId,
        src_sel: &Sel,
        dst_sel: &Sel,
    ) -> Result<(), JitError> {
        let (_, ns) = self.sig(src)?;
        let (d, nd) = self.sig(dst)?;
        let s = self.source(src, dst)?;
        let n_out = dst_sel.as_ref().map_or(nd, Vec::len);
        let n_in = src_sel.as_ref().map_or(ns, Vec::len);
        let nnz = rows.len().min(cols.len()).min(vals.len());
        // Entries grouped by row, stable; indices composed with the selections.
        let mut order: Vec<usize> = (0..nnz).collect();
        order.sort_by_key(|&e| rows[e]);
        let mut out_rows: Vec<usize> = Vec::new();
        let mut ptr: Vec<usize> = vec![0];
        let mut ecol: Vec<usize> = Vec::with_capacity(nnz);
        let mut evals: Vec<T> = Vec::with_capacity(nnz);
        for (pos, &e) in order.iter().enumerate() {
            let (r, c) = (rows[e], cols[e]);
            if r >= n_out || c >= n_in {
                return Err(JitError::Invalid(format!(
                    "sparse entry ({r}, {c}) outside [{n_out}, {n_in}]"
                )));
            }
            let dr = dst_sel.as_ref().map_or(Some(r), |ix| ix.get(r).copied());
            let sc = src_sel.as_ref().map_or(Some(c), |ix| ix.get(c).copied());
            let (Some(dr), Some(sc)) = (dr, sc) else { return Err(bug("sparse selection")) };
            if dr >= nd || sc >= ns {
                return Err(JitError::Invalid("sparse selection outside its signal".into()));
            }
            if pos == 0 || rows[order[pos - 1]] != r {
                if pos > 0 {
                    ptr.push(pos);
                }
                out_rows.push(dr);
            }
            ecol.push(sc);
            evals.push(T::cast(vals[e]));
        }
        if nnz > 0 {
            ptr.push(nnz);
        }
        let zero = self.fc(T::zero());
        if nnz <= 4 * UNROLL {
            for (g_i, &dr) in out_rows.iter().enumerate() {
                let mut acc = zero;
                for e in ptr[g_i]..ptr[g_i + 1] {
                    let v = self.fc(evals[e]);
                    let x = self.ldm(s + ecol[e], I::C(0))?;
                    let p = self.b.ins().fmul(v, x);
                    acc = self.b.ins().fadd(acc, p);
                }
                let old = self.ldm(d + dr, I::C(0))?;
                let new = self.b.ins().fadd(old, acc);
                self.stm(new, d + dr, I::C(0))?;
            }
            return Ok(());
        }
        let rows_at = self.uconst(&out_rows)?;
        let ptr_at = self.uconst(&ptr)?;
        let col_at = self.uconst(&ecol)?;
        let vals_c = self.fconst(evals)?;
        let (ra, pa, ca) = (self.cptr(rows_at), self.cptr(ptr_at), self.cptr(col_at));
        let va = self.cptr(vals_c.at as i32 * T::SIZE as i32);
        self.for_n(out_rows.len(), |g, gi| {
            let gv = match gi {
                I::C(c) => g.ic(c as i64),
                I::V(v) => v,
            };
            let o4 = g.b.ins().imul_imm_s(gv, 4);
            let rp = g.b.ins().iadd(ra, o4);
            let dr = g.b.ins().uload32(flags(), rp, 0);
            let pp = g.b.ins().iadd(pa, o4);
            let start = g.b.ins().uload32(flags(), pp, 0);
            let end = g.b.ins().uload32(flags(), pp, 4);
            let acc = g.loop_carry(start, end, &[zero], |g, e, acc| {
                let e4 = g.b.ins().imul_imm_s(e, 4);
                let cp = g.b.ins().iadd(ca, e4);
                let col = g.b.ins().uload32(flags(), cp, 0);
                let v = g.ld(va, 0, I::V(e))?;
                let x = g.ldm(s, I::V(col))?;
                let p = g.b.ins().fmul(v, x);
                Ok(vec![g.b.ins().fadd(acc[0], p)])
            })?;
            let old = g.ldm(d, I::V(dr))?;
            let new = g.b.ins().fadd(old, acc[0]);
            g.stm(new, d, I::V(dr))
        })
    }

    /// A synapse: reads `src`, updates `dst` and its private state, as `DiscreteFilter::step`.
    /// `dst *= factor`.
    pub(super) fn op_scale<'c>(
        &mut self,
        dst: SignalId,
        factor: f64,
    ) -> Result<Loop<'c, 'f, 'm, T>, JitError> {
        let (d, n) = self.sig(dst)?;
        let fv = T::cast(factor);
        let body = move |g: &mut Gen<'f, 'm, T>, i| {
            let f = g.fc(fv);
            let y = g.ldm(d, i)?;
            let y = g.b.ins().fmul(y, f);
            g.stm(y, d, i)
        };
        Ok((n, Elem::Vector(Box::new(body))))
    }

    pub(super) fn op_filter<'c>(
        &mut self,
        f: &'c DiscreteFilter,
        src: SignalId,
        dst: SignalId,
    ) -> Result<Loop<'c, 'f, 'm, T>, JitError> {
        let (s, ns) = self.sig(src)?;
        let (d, nd) = self.sig(dst)?;
        let n = ns;
        let order = f.order();
        let lit = |v: f64| T::cast(v);
        match f.kind {
            FilterKind::NoX => {
                let dv = lit(f.d);
                let body = move |g: &mut Gen<'f, 'm, T>, i| {
                    let dc = g.fc(dv);
                    let u = g.ldm(s, i)?;
                    let y = g.b.ins().fmul(dc, u);
                    g.stm(y, d, i)
                };
                Ok((n.min(nd), Elem::Vector(Box::new(body))))
            }
            FilterKind::OneX => {
                let x = self.res.alloc(n);
                let (av, bv) = (lit(f.a[(0, 0)]), lit(f.c[0] * f.b[0]));
                let body = move |g: &mut Gen<'f, 'm, T>, i| {
                    let a = g.fc(av);
                    let b = g.fc(bv);
                    let u = g.ldm(s, i)?;
                    let xs = g.ldm(x, i)?;
                    let ax = g.b.ins().fmul(a, xs);
                    let bu = g.b.ins().fmul(b, u);
                    let nx = g.b.ins().fadd(ax, bu);
                    g.stm(nx, x, i)?;
                    g.stm(nx, d, i)
                };
                Ok((n.min(nd), Elem::Vector(Box::new(body))))
            }
            FilterKind::NoD | FilterKind::General => {
                let x = self.res.alloc(order * n);
                let general = f.kind == FilterKind::General;
                let dc = lit(f.d);
                let body = move |g: &mut Gen<'f, 'm, T>, i| {
                    let u = g.ldm(s, i)?;
                    let mut xs = Vec::with_capacity(order);
                    for o in 0..order {
                        xs.push(g.ldm(x + o * n, i)?);
                    }
                    let zero = g.fc(T::zero());
                    let read = |g: &mut Self, xs: &[Value]| -> Value {
                        let mut y = zero;
                        for (o, &xv) in xs.iter().enumerate() {
                            let c = g.fc(lit(f.c[o]));
                            let p = g.b.ins().fmul(c, xv);
                            y = g.b.ins().fadd(y, p);
                        }
                        y
                    };
                    let pre = if general {
                        let y = read(g, &xs);
                        let dcv = g.fc(dc);
                        let du = g.b.ins().fmul(dcv, u);
                        Some(g.b.ins().fadd(y, du))
                    } else {
                        None
                    };
                    let mut col = Vec::with_capacity(order);
                    for r in 0..order {
                        let mut acc = zero;
                        for (c, &xv) in xs.iter().enumerate() {
                            let a = g.fc(lit(f.a[(r, c)]));
                            let p = g.b.ins().fmul(a, xv);
                            acc = g.b.ins().fadd(acc, p);
                        }
                        let bv = g.fc(lit(f.b[r]));
                        let bu = g.b.ins().fmul(bv, u);
                        col.push(g.b.ins().fadd(acc, bu));
                    }
                    for (o, &v) in col.iter().enumerate() {
                        g.stm(v, x + o * n, i)?;
                    }
                    let y = match pre {
                        Some(y) => y,
                        None => read(g, &col),
                    };
                    g.stm(y, d, i)
                };
                Ok((n.min(nd), Elem::Vector(Box::new(body))))
            }
        }
    }

    /// Samples the probes due at step `k` into their output buffers.
    pub(super) fn probes(&mut self, probes: &[ProbeDecl]) -> Result<(), JitError> {
        for (p, &slot) in probes.iter().zip(self.res.probes.clone().iter()) {
            let (s, n) = self.sig(p.signal)?;
            let every = p.every.max(1) as i64;
            let emit = |g: &mut Self| -> Result<(), JitError> {
                let sample = if every == 1 {
                    g.b.ins().iadd_imm_s(g.k, -1)
                } else {
                    let q = g.b.ins().udiv_imm_s(g.k, every);
                    g.b.ins().iadd_imm_s(q, -1)
                };
                let base = g.ld_ctx(slot);
                let off = g.b.ins().imul_imm_s(sample, n as i64 * T::SIZE);
                let out = g.b.ins().iadd(base, off);
                g.for_n(n, |g, i| {
                    let v = g.ldm(s, i)?;
                    g.st(v, out, 0, i)
                })
            };
            if every == 1 {
                emit(self)?;
            } else {
                let r = self.b.ins().urem_imm_s(self.k, every);
                let due = self.b.ins().icmp_imm_s(IntCC::Equal, r, 0);
                self.if_then(due, emit)?;
            }
        }
        let _ = types::I64;
        Ok(())
    }
}
