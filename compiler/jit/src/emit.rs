//! The code generator's state and its building blocks: constants, addressing of the state block,
//! loops (unrolled when short), branches with results, calls to host symbols and kernels.
//!
//! The generator works on any [`cranelift_module::Module`] (the JIT's, or an object file's) and
//! bakes no host address into the code: constant arrays live in one read-only data object of the
//! module ([`Pool`], its address taken once per call in the entry block), host functions are
//! imported by name, and host kernels are reached through the context table.

use super::float::JitFloat;
use super::JitError;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    types, AbiParam, BlockArg, Endianness, FuncRef, InstBuilder, MemFlagsData, Type, Value,
};
use cranelift_frontend::FunctionBuilder;
use cranelift_module::{DataDescription, DataId, Linkage, Module};
use snn_compiler::ir::Sel;
use snn_exec::symbols::typed_symbol;
use snn_exec::{KernelSpec, Layout};
use std::collections::BTreeMap;

/// Guarded loops of at least this many vectors defer the vectors their fast path refuses.
const DEFER_MIN: usize = 256;

/// Loops of at most this many iterations are unrolled.
pub(super) const UNROLL: usize = 8;

/// A loop index: known at compile time (unrolled) or a run-time `i64`.
#[derive(Clone, Copy)]
pub(super) enum I {
    /// A constant index.
    C(usize),
    /// A run-time index.
    V(Value),
}

/// Where the elements of a selection are: a contiguous run from an offset, or a table.
pub(super) enum Ix {
    /// Element `i` is at `start + i`.
    Range(usize),
    /// Element `i` is at `idx[i]`; the table (`u32`) is at byte `at` of the constant pool.
    Table { at: i32, idx: Vec<usize> },
}

/// A constant float array of the pool, with its values (known values are emitted as immediates).
pub(super) struct Cst<T> {
    /// Element offset (in `T`s) of the first value in the constant pool.
    pub at: usize,
    /// The values.
    pub vals: Vec<T>,
}

/// The constant arrays of the function: one read-only data object of the module, named
/// [`POOL_SYMBOL`], defined when generation ends ([`Gen::into_parts`]). Arrays start on 16-byte
/// boundaries; the object is 64-byte aligned.
struct Pool {
    id: DataId,
    bytes: Vec<u8>,
}

/// Name of the data object holding the constant arrays.
pub(super) const POOL_SYMBOL: &str = "snn_consts";

/// Alignment of each array in the pool (one vector).
const POOL_ALIGN: usize = 16;

/// Code for element `i` of an elementwise op, to run in a loop of its own or fused with others
/// ([`Gen::run_elems`]).
pub(super) type Body<'c, 'f, 'm, T> =
    Box<dyn FnMut(&mut Gen<'f, 'm, T>, I) -> Result<(), JitError> + 'c>;

/// A vector fast path: whether it applies to every lane (`i8`) and the stores committing it.
pub(super) type Fast<'c, 'f, 'm, T> =
    Box<dyn FnMut(&mut Gen<'f, 'm, T>, I) -> Result<(Value, Vec<(Value, usize)>), JitError> + 'c>;

/// The per-element code of an elementwise op.
pub(super) enum Elem<'c, 'f, 'm, T: JitFloat> {
    /// Runs on vectors (in [`Gen::for_vec`]'s vector mode) or scalars.
    Vector(Body<'c, 'f, 'm, T>),
    /// Scalars only.
    Scalar(Body<'c, 'f, 'm, T>),
    /// A vector fast path, and the scalar code for lanes it refuses.
    Guarded(Fast<'c, 'f, 'm, T>, Body<'c, 'f, 'm, T>),
}

impl<'f, 'm, T: JitFloat> Elem<'_, 'f, 'm, T> {
    /// Element `i` as scalar code.
    fn scalar(&mut self, g: &mut Gen<'f, 'm, T>, i: I) -> Result<(), JitError> {
        match self {
            Elem::Vector(f) | Elem::Scalar(f) | Elem::Guarded(_, f) => f(g, i),
        }
    }
}

/// An elementwise op's loop: its length and its per-element code.
pub(super) type Loop<'c, 'f, 'm, T> = (usize, Elem<'c, 'f, 'm, T>);

/// The generator of one program's function.
pub(super) struct Gen<'f, 'm, T: JitFloat> {
    /// The function being built.
    pub b: FunctionBuilder<'f>,
    module: &'m mut dyn Module,
    funcs: BTreeMap<String, FuncRef>,
    pool: Pool,
    /// Byte offset in the state block of the constant pool's address (stored there by the
    /// entry block, loaded where used: a register holding it through the whole function costs
    /// more, in spills around calls, than the loads).
    consts_at: i32,
    /// Layout, constants and kernels.
    pub res: Layout,
    /// State block pointer.
    pub mem: Value,
    /// Context table pointer.
    pub ctx: Value,
    /// Current step (`i64`, from 1).
    pub k: Value,
    /// Current time (`f64`).
    pub t: Value,
    /// Time step.
    pub dt: f64,
    /// The op being generated is a convolution into a destination that is all zeros (see
    /// `compile::fresh_zero`).
    pub fresh: bool,
    /// Inside [`Gen::run_elems`]'s vector loop: loads, stores, constants, comparisons and
    /// selects work on vectors of `T::LANES` consecutive elements.
    vec: bool,
    /// Inside a deferring [`Gen::run_elems`]: byte offset of its queue of refused vectors.
    queue: Option<i32>,
    /// Inside [`Gen::vectors`]: the vectors of the state block loaded or stored so far, by
    /// element offset and index, and whether stored (written back once, at the end).
    cache: Option<Vec<Cached>>,
    /// The float type the code computes in.
    float: std::marker::PhantomData<T>,
}

/// A vector of the state block held in a register: element offset, index, value, stored.
type Cached = (usize, I, Value, bool);

fn same(a: I, b: I) -> bool {
    match (a, b) {
        (I::C(x), I::C(y)) => x == y,
        (I::V(x), I::V(y)) => x == y,
        _ => false,
    }
}

/// Flags of scalar accesses to the state block, constants and the context table.
pub(super) fn flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

fn vflags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

impl<'f, 'm, T: JitFloat> Gen<'f, 'm, T> {
    /// A generator over `b`, positioned in the entry block where `mem`, `ctx`, `k`, `t` are
    /// defined (the constant pool's address is taken there and kept in the state block).
    /// Declares the pool in `module`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        mut b: FunctionBuilder<'f>,
        module: &'m mut dyn Module,
        res: Layout,
        mem: Value,
        ctx: Value,
        k: Value,
        t: Value,
        dt: f64,
    ) -> Result<Self, JitError> {
        let id = module
            .declare_data(POOL_SYMBOL, Linkage::Local, false, false)
            .map_err(|e| JitError::Codegen(e.to_string()))?;
        let gv = module.declare_data_in_func(id, b.func);
        let ptr = module.target_config().pointer_type();
        let consts = b.ins().symbol_value(ptr, gv);
        let mut res = res;
        let consts_at = (res.alloc(8 / T::SIZE as usize) as i64 * T::SIZE) as i32;
        b.ins().store(flags(), consts, mem, consts_at);
        Ok(Self {
            b,
            module,
            funcs: BTreeMap::new(),
            pool: Pool { id, bytes: Vec::new() },
            consts_at,
            res,
            mem,
            ctx,
            k,
            t,
            dt,
            fresh: false,
            vec: false,
            queue: None,
            cache: None,
            float: std::marker::PhantomData,
        })
    }

    /// Defines the constant pool in the module; gives back the function builder and the
    /// resources.
    pub(super) fn into_parts(self) -> Result<(FunctionBuilder<'f>, Layout), JitError> {
        let mut bytes = self.pool.bytes;
        // An empty data object is not allowed everywhere: keep one vector.
        bytes.resize(bytes.len().max(POOL_ALIGN), 0);
        let mut data = DataDescription::new();
        data.define(bytes.into_boxed_slice());
        data.set_align(64);
        self.module
            .define_data(self.pool.id, &data)
            .map_err(|e| JitError::Codegen(e.to_string()))?;
        Ok((self.b, self.res))
    }

    /// Appends `bytes` to the constant pool (16-byte aligned); their byte offset.
    fn pool_push(&mut self, bytes: impl IntoIterator<Item = u8>) -> Result<usize, JitError> {
        let pool = &mut self.pool.bytes;
        pool.resize(pool.len().next_multiple_of(POOL_ALIGN), 0);
        let at = pool.len();
        pool.extend(bytes);
        if pool.len() > i32::MAX as usize {
            return Err(JitError::Unsupported("constants above 2 GiB".into()));
        }
        Ok(at)
    }

    /// Puts `vals` in the constant pool.
    pub(super) fn fconst(&mut self, vals: Vec<T>) -> Result<Cst<T>, JitError> {
        let mut bytes = Vec::with_capacity(vals.len() * T::SIZE as usize);
        vals.iter().for_each(|&v| T::push_le(v, &mut bytes));
        let at = self.pool_push(bytes)?;
        Ok(Cst { at: at / T::SIZE as usize, vals })
    }

    /// Puts `idx` (as `u32`) in the constant pool; its byte offset.
    pub(super) fn uconst(&mut self, idx: &[usize]) -> Result<i32, JitError> {
        let v: Vec<u32> = idx
            .iter()
            .map(|&i| {
                u32::try_from(i).map_err(|_| JitError::Unsupported("index above 2^32".into()))
            })
            .collect::<Result<_, _>>()?;
        let at = self.pool_push(v.iter().flat_map(|i| i.to_le_bytes()))?;
        Ok(at as i32)
    }

    /// Address of the constant pool (a load from the state block, where the entry block put
    /// it; repeated loads in a block are merged by Cranelift).
    fn consts(&mut self) -> Value {
        self.b.ins().load(types::I64, flags(), self.mem, self.consts_at)
    }

    /// Address of byte `at` of the constant pool.
    pub(super) fn cptr(&mut self, at: i32) -> Value {
        let c = self.consts();
        if at == 0 {
            c
        } else {
            self.b.ins().iadd_imm_s(c, at as i64)
        }
    }

    /// Float constant of the run's type.
    pub(super) fn fc(&mut self, x: T) -> Value {
        let v = T::emit(&mut self.b, x);
        if self.vec {
            self.b.ins().splat(T::VEC, v)
        } else {
            v
        }
    }

    /// `f64` constant (node functions compute in `f64`).
    pub(super) fn f64c(&mut self, x: f64) -> Value {
        self.b.ins().f64const(x)
    }

    /// `i64` constant.
    pub(super) fn ic(&mut self, x: i64) -> Value {
        self.b.ins().iconst(types::I64, x)
    }

    /// Byte offset of element `e`, checked to fit an `i32` immediate.
    fn off(&self, e: usize) -> Result<i32, JitError> {
        i32::try_from(e as i64 * T::SIZE)
            .map_err(|_| JitError::Unsupported("state block above 2 GiB".into()))
    }

    /// Address `base + (e + i * stride) * size` as (pointer, immediate offset).
    pub(super) fn at(
        &mut self,
        base: Value,
        e: usize,
        i: I,
        stride: usize,
    ) -> Result<(Value, i32), JitError> {
        match i {
            I::C(i) => Ok((base, self.off(e + i * stride)?)),
            I::V(i) => {
                let scaled = self.b.ins().imul_imm_s(i, stride as i64 * T::SIZE);
                let p = self.b.ins().iadd(base, scaled);
                Ok((p, self.off(e)?))
            }
        }
    }

    /// Loads a float.
    pub(super) fn ld(&mut self, base: Value, e: usize, i: I) -> Result<Value, JitError> {
        if self.vec {
            return self.ldv(base, e, i);
        }
        let (p, o) = self.at(base, e, i, 1)?;
        Ok(self.b.ins().load(T::TY, flags(), p, o))
    }

    /// Stores a float.
    pub(super) fn st(&mut self, v: Value, base: Value, e: usize, i: I) -> Result<(), JitError> {
        if self.vec {
            return self.stv(v, base, e, i);
        }
        let (p, o) = self.at(base, e, i, 1)?;
        self.b.ins().store(flags(), v, p, o);
        Ok(())
    }

    /// Loads a vector of `T::LANES` floats starting at element `e + i * T::LANES`.
    pub(super) fn ldv(&mut self, base: Value, e: usize, i: I) -> Result<Value, JitError> {
        let (p, o) = self.at(base, e, i, T::LANES)?;
        Ok(self.b.ins().load(T::VEC, vflags(), p, o))
    }

    /// Stores a vector (see [`Gen::ldv`]).
    pub(super) fn stv(&mut self, v: Value, base: Value, e: usize, i: I) -> Result<(), JitError> {
        let (p, o) = self.at(base, e, i, T::LANES)?;
        self.b.ins().store(vflags(), v, p, o);
        Ok(())
    }

    /// Element `i` of the state block region at `e`.
    pub(super) fn ldm(&mut self, e: usize, i: I) -> Result<Value, JitError> {
        if self.vec && self.cache.is_some() {
            return self.cached_load(e, i);
        }
        self.ld(self.mem, e, i)
    }

    /// Stores element `i` of the region at `e`.
    pub(super) fn stm(&mut self, v: Value, e: usize, i: I) -> Result<(), JitError> {
        if self.vec && self.cache.is_some() {
            return self.cached_store(v, e, i);
        }
        self.st(v, self.mem, e, i)
    }

    /// Vector `i` at element offset `e` from the cache, else loaded (and cached).
    fn cached_load(&mut self, e: usize, i: I) -> Result<Value, JitError> {
        let cache = self.cache.as_ref().ok_or_else(|| bug("cache"))?;
        if let Some(c) = cache.iter().find(|c| c.0 == e && same(c.1, i)) {
            return Ok(c.2);
        }
        self.flush_overlapping(e, i)?;
        let v = self.ldv(self.mem, e, i)?;
        self.cache.get_or_insert_with(Vec::new).push((e, i, v, false));
        Ok(v)
    }

    /// Records a store of vector `i` at element offset `e`, written back by [`Gen::flush`].
    fn cached_store(&mut self, v: Value, e: usize, i: I) -> Result<(), JitError> {
        self.flush_overlapping(e, i)?;
        let cache = self.cache.get_or_insert_with(Vec::new);
        match cache.iter_mut().find(|c| c.0 == e && same(c.1, i)) {
            Some(c) => {
                c.2 = v;
                c.3 = true;
            }
            None => cache.push((e, i, v, true)),
        }
        Ok(())
    }

    /// Writes back and forgets cached vectors that partly overlap vector `i` at `e`.
    fn flush_overlapping(&mut self, e: usize, i: I) -> Result<(), JitError> {
        let lanes = T::LANES;
        let overlaps = |c: &Cached| same(c.1, i) && c.0 != e && c.0 < e + lanes && e < c.0 + lanes;
        if self.cache.as_ref().is_some_and(|cache| cache.iter().any(overlaps)) {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes back the stored vectors of the cache and empties it.
    fn flush(&mut self) -> Result<(), JitError> {
        let Some(cache) = self.cache.take() else { return Ok(()) };
        for &(e, i, v, stored) in &cache {
            if stored {
                self.stv(v, self.mem, e, i)?;
            }
        }
        self.cache = Some(Vec::new());
        Ok(())
    }

    /// Element `i` of a constant array (an immediate when `i` is known).
    pub(super) fn cget(&mut self, c: &Cst<T>, i: I) -> Result<Value, JitError> {
        match i {
            I::C(i) if !self.vec => {
                let v = c.vals.get(i).copied().ok_or_else(|| bug("constant index"))?;
                Ok(self.fc(v))
            }
            _ => {
                let base = self.consts();
                self.ld(base, c.at, i)
            }
        }
    }

    /// A `u64` of the context table.
    pub(super) fn ld_ctx(&mut self, slot: usize) -> Value {
        self.b.ins().load(types::I64, flags(), self.ctx, (slot * 8) as i32)
    }

    /// The selection `sel` of a signal of `len` elements, checked; its length.
    pub(super) fn ix(&mut self, sel: &Sel, len: usize) -> Result<(Ix, usize), JitError> {
        match sel {
            None => Ok((Ix::Range(0), len)),
            Some(idx) => {
                if let Some(&bad) = idx.iter().find(|&&i| i >= len) {
                    return Err(JitError::Invalid(format!(
                        "selection index {bad} outside a signal of {len}"
                    )));
                }
                let contiguous = idx.windows(2).all(|w| w[1] == w[0] + 1);
                if contiguous {
                    Ok((Ix::Range(idx.first().copied().unwrap_or(0)), idx.len()))
                } else {
                    let at = self.uconst(idx)?;
                    Ok((Ix::Table { at, idx: idx.clone() }, idx.len()))
                }
            }
        }
    }

    /// Address of element `i` of the selection `ix` of the region at `e`.
    pub(super) fn sel_at(&mut self, e: usize, ix: &Ix, i: I) -> Result<(Value, i32), JitError> {
        match ix {
            Ix::Range(s) => {
                let stride = if self.vec { T::LANES } else { 1 };
                self.at(self.mem, e + s, i, stride)
            }
            Ix::Table { .. } if self.vec => Err(bug("vector access through a table")),
            Ix::Table { at, idx } => match i {
                I::C(i) => {
                    let j = idx.get(i).copied().ok_or_else(|| bug("table index"))?;
                    self.at(self.mem, e + j, I::C(0), 1)
                }
                I::V(i) => {
                    let scaled = self.b.ins().imul_imm_s(i, 4);
                    let base = self.consts();
                    let p = self.b.ins().iadd(base, scaled);
                    let j = self.b.ins().uload32(flags(), p, *at);
                    self.at(self.mem, e, I::V(j), 1)
                }
            },
        }
    }

    /// Loads element `i` of a selection.
    pub(super) fn ld_sel(&mut self, e: usize, ix: &Ix, i: I) -> Result<Value, JitError> {
        if let (Ix::Range(s), true) = (ix, self.vec && self.cache.is_some()) {
            return self.cached_load(e + s, i);
        }
        let (p, o) = self.sel_at(e, ix, i)?;
        Ok(if self.vec {
            self.b.ins().load(T::VEC, vflags(), p, o)
        } else {
            self.b.ins().load(T::TY, flags(), p, o)
        })
    }

    /// Whether code is generated for vectors of `T::LANES` elements (in [`Gen::run_elems`]).
    pub(super) fn in_vectors(&self) -> bool {
        self.vec
    }

    /// Stores element `i` of a selection.
    pub(super) fn st_sel(&mut self, v: Value, e: usize, ix: &Ix, i: I) -> Result<(), JitError> {
        if let (Ix::Range(s), true) = (ix, self.vec && self.cache.is_some()) {
            return self.cached_store(v, e + s, i);
        }
        let (p, o) = self.sel_at(e, ix, i)?;
        let f = if self.vec { vflags() } else { flags() };
        self.b.ins().store(f, v, p, o);
        Ok(())
    }

    /// `body(i)` for `i` in `0..n` as a loop, however short.
    pub(super) fn for_loop(
        &mut self,
        n: usize,
        mut body: impl FnMut(&mut Self, I) -> Result<(), JitError>,
    ) -> Result<(), JitError> {
        if n <= 1 {
            return if n == 1 { body(self, I::C(0)) } else { Ok(()) };
        }
        let head = self.b.create_block();
        let i = self.b.append_block_param(head, types::I64);
        let exit = self.b.create_block();
        let zero = self.ic(0);
        self.b.ins().jump(head, &[BlockArg::Value(zero)]);
        self.b.switch_to_block(head);
        body(self, I::V(i))?;
        let next = self.b.ins().iadd_imm_s(i, 1);
        let more = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, next, n as i64);
        self.b.ins().brif(more, head, &[BlockArg::Value(next)], exit, &[]);
        self.b.switch_to_block(exit);
        Ok(())
    }

    /// `body(i)` for `i` in `0..n`: unrolled up to [`UNROLL`] iterations, else a loop.
    pub(super) fn for_n(
        &mut self,
        n: usize,
        mut body: impl FnMut(&mut Self, I) -> Result<(), JitError>,
    ) -> Result<(), JitError> {
        if n > UNROLL {
            return self.for_loop(n, body);
        }
        for i in 0..n {
            body(self, I::C(i))?;
        }
        Ok(())
    }

    /// Runs `elems` (each over all `n` elements, in order) as one loop: element `i` of every
    /// elem before element `i + 1` of the first. Elementwise ops give the same values fused
    /// as one after the other. Vectors of `T::LANES` elements when every elem can (a guarded
    /// one falling back to scalar code for the lanes its fast path refuses), else scalar.
    /// With `defer`, the vectors a guarded elem's fast path refuses are queued and their lanes
    /// run as scalar code after the loop, keeping calls out of the hot loop (the caller checks
    /// that no later elem touches the guarded elem's signals, so the order of values is kept).
    pub(super) fn run_elems(
        &mut self,
        n: usize,
        mut elems: Vec<Elem<'_, 'f, 'm, T>>,
        defer: bool,
    ) -> Result<(), JitError> {
        let lanes = T::LANES;
        let nv = n / lanes;
        let scalar_only = elems.iter().any(|e| matches!(e, Elem::Scalar(_)));
        if scalar_only || nv < 2 {
            return self.for_n(n, |g, i| elems.iter_mut().try_for_each(|e| e.scalar(g, i)));
        }
        // Long loops without a guarded elem do two vectors per iteration, op by op (elements are
        // independent), for more instructions in flight (a guarded one gains nothing: measured).
        let n_guarded = elems.iter().filter(|e| matches!(e, Elem::Guarded(..))).count();
        let guarded = n_guarded > 0;
        // The queue: a count (`i64`), then the refused vectors' indices (`i32`).
        // (Measured: CUBA's 4,000 LIF neurons run 1.4x faster deferred; a 100-neuron
        // ensemble's loop 10% slower, the second pass costing more than the calls it moves.)
        let deferred = defer && n_guarded == 1 && nv >= DEFER_MIN;
        // (Two guarded vectors at a time measured 10% slower on CUBA: twice the lanes that may
        // refuse.)
        let unroll = if nv >= 16 && !guarded { 2 } else { 1 };
        self.queue = deferred.then(|| {
            let q = self.res.alloc((8 + 4 * nv).div_ceil(T::SIZE as usize));
            (q as i64 * T::SIZE) as i32
        });
        if let Some(q) = self.queue {
            let zero = self.ic(0);
            self.b.ins().store(flags(), zero, self.mem, q);
        }
        self.vec = true;
        // A guarded elem's code is long: keep it in a loop even when the loop is short (small
        // populations, such as an ensemble array's, would otherwise multiply the code size).
        let count = nv / unroll;
        let body = |g: &mut Self, ip: I| {
            let idx: Vec<I> = (0..unroll)
                .map(|u| match ip {
                    I::C(p) => I::C(p * unroll + u),
                    I::V(v) => {
                        let a = g.b.ins().imul_imm_s(v, unroll as i64);
                        I::V(g.b.ins().iadd_imm_s(a, u as i64))
                    }
                })
                .collect();
            g.vectors(&mut elems, &idx)
        };
        let res = if guarded { self.for_loop(count, body) } else { self.for_n(count, body) };
        let res = res.and_then(|()| {
            if nv % unroll == 1 {
                self.vectors(&mut elems, &[I::C(nv - 1)])
            } else {
                Ok(())
            }
        });
        self.vec = false;
        res?;
        if let Some(q) = self.queue.take() {
            self.run_queued(q, &mut elems)?;
        }
        for i in nv * lanes..n {
            for e in elems.iter_mut() {
                e.scalar(self, I::C(i))?;
            }
        }
        Ok(())
    }

    /// The vectors `idx` (vector indices) through every elem, in vector mode. A guarded elem
    /// commits its fast path for all of them when it applies to every lane, else runs their
    /// lanes as scalar code.
    /// Within the call, vectors of the state block stay in registers from one elem to the next
    /// and are stored once at the end (before a guarded elem's branch, whose scalar code works
    /// in memory).
    fn vectors(&mut self, elems: &mut [Elem<'_, 'f, 'm, T>], idx: &[I]) -> Result<(), JitError> {
        self.cache = Some(Vec::new());
        let r = self.vectors_cached(elems, idx);
        let f = self.flush();
        self.cache = None;
        r.and(f)
    }

    fn vectors_cached(
        &mut self,
        elems: &mut [Elem<'_, 'f, 'm, T>],
        idx: &[I],
    ) -> Result<(), JitError> {
        let lanes = T::LANES;
        for e in elems.iter_mut() {
            match e {
                Elem::Vector(f) | Elem::Scalar(f) => {
                    for &i in idx {
                        f(self, i)?;
                    }
                }
                Elem::Guarded(fast, slow) => {
                    let mut ok = None;
                    let mut commits = Vec::with_capacity(idx.len());
                    for &i in idx {
                        let (o, stores) = fast(self, i)?;
                        ok = Some(match ok {
                            None => o,
                            Some(prev) => self.b.ins().band(prev, o),
                        });
                        commits.push((i, stores));
                    }
                    let Some(ok) = ok else { continue };
                    // Memory is current for the branch; what it writes is reloaded after.
                    self.flush()?;
                    self.cache = None;
                    self.vec = false;
                    let r = self.if_else(
                        ok,
                        &[],
                        |g| {
                            g.vec = true;
                            for (i, stores) in &commits {
                                for &(v, off) in stores {
                                    g.stm(v, off, *i)?;
                                }
                            }
                            g.vec = false;
                            Ok(vec![])
                        },
                        |g| {
                            if let Some(q) = g.queue {
                                for &i in idx {
                                    g.enqueue(q, i);
                                }
                                return Ok(vec![]);
                            }
                            // One copy of the scalar code, in a loop over the lanes.
                            for &i in idx {
                                let base = match i {
                                    I::C(i) => g.ic((i * lanes) as i64),
                                    I::V(v) => g.b.ins().imul_imm_s(v, lanes as i64),
                                };
                                g.for_loop(lanes, |g, l| {
                                    let el = match l {
                                        I::C(l) => g.b.ins().iadd_imm_s(base, l as i64),
                                        I::V(l) => g.b.ins().iadd(base, l),
                                    };
                                    slow(g, I::V(el))
                                })?;
                            }
                            Ok(vec![])
                        },
                    );
                    self.vec = true;
                    self.cache = Some(Vec::new());
                    r?;
                }
            }
        }
        Ok(())
    }

    /// Appends vector `i` to the queue at byte offset `q`.
    fn enqueue(&mut self, q: i32, i: I) {
        let iv = match i {
            I::C(c) => self.ic(c as i64),
            I::V(v) => v,
        };
        let count = self.b.ins().load(types::I64, flags(), self.mem, q);
        let at = self.b.ins().imul_imm_s(count, 4);
        let p = self.b.ins().iadd(self.mem, at);
        let i32v = self.b.ins().ireduce(types::I32, iv);
        self.b.ins().store(flags(), i32v, p, q + 8);
        let next = self.b.ins().iadd_imm_s(count, 1);
        self.b.ins().store(flags(), next, self.mem, q);
    }

    /// The lanes of the queued vectors (queue at byte offset `q`) through the guarded elem's
    /// scalar code.
    fn run_queued(&mut self, q: i32, elems: &mut [Elem<'_, 'f, 'm, T>]) -> Result<(), JitError> {
        let lanes = T::LANES as i64;
        let count = self.b.ins().load(types::I64, flags(), self.mem, q);
        let any = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThan, count, 0);
        self.if_then(any, |g| {
            let start = g.ic(0);
            g.loop_carry(start, count, &[], |g, j, _| {
                let at = g.b.ins().imul_imm_s(j, 4);
                let p = g.b.ins().iadd(g.mem, at);
                let iv = g.b.ins().uload32(flags(), p, q + 8);
                let base = g.b.ins().imul_imm_s(iv, lanes);
                g.for_loop(lanes as usize, |g, l| {
                    let el = match l {
                        I::C(l) => g.b.ins().iadd_imm_s(base, l as i64),
                        I::V(l) => g.b.ins().iadd(base, l),
                    };
                    for e in elems.iter_mut() {
                        if let Elem::Guarded(_, slow) = e {
                            slow(g, I::V(el))?;
                        }
                    }
                    Ok(())
                })?;
                Ok(vec![])
            })?;
            Ok(())
        })
    }

    /// A loop over `start..end` (run-time bounds, `start < end`) carrying `init` values;
    /// `body(i, carried)` returns the next carried values. Returns the final ones.
    pub(super) fn loop_carry(
        &mut self,
        start: Value,
        end: Value,
        init: &[Value],
        body: impl FnOnce(&mut Self, Value, &[Value]) -> Result<Vec<Value>, JitError>,
    ) -> Result<Vec<Value>, JitError> {
        let head = self.b.create_block();
        let i = self.b.append_block_param(head, types::I64);
        let mut carried = Vec::new();
        for &v in init {
            let ty = self.b.func.dfg.value_type(v);
            carried.push(self.b.append_block_param(head, ty));
        }
        let exit = self.b.create_block();
        let mut outs = Vec::new();
        for &v in init {
            let ty = self.b.func.dfg.value_type(v);
            outs.push(self.b.append_block_param(exit, ty));
        }
        let mut args = vec![BlockArg::Value(start)];
        args.extend(init.iter().map(|&v| BlockArg::Value(v)));
        self.b.ins().jump(head, &args);
        self.b.switch_to_block(head);
        let next_vals = body(self, i, &carried)?;
        let next = self.b.ins().iadd_imm_s(i, 1);
        let more = self.b.ins().icmp(IntCC::SignedLessThan, next, end);
        let mut back = vec![BlockArg::Value(next)];
        back.extend(next_vals.iter().map(|&v| BlockArg::Value(v)));
        let fwd: Vec<BlockArg> = next_vals.iter().map(|&v| BlockArg::Value(v)).collect();
        self.b.ins().brif(more, head, &back, exit, &fwd);
        self.b.switch_to_block(exit);
        Ok(outs)
    }

    /// `if cond { then() } else { other() }`, each arm giving values of the types `tys`.
    pub(super) fn if_else(
        &mut self,
        cond: Value,
        tys: &[Type],
        then: impl FnOnce(&mut Self) -> Result<Vec<Value>, JitError>,
        other: impl FnOnce(&mut Self) -> Result<Vec<Value>, JitError>,
    ) -> Result<Vec<Value>, JitError> {
        let bt = self.b.create_block();
        let be = self.b.create_block();
        let merge = self.b.create_block();
        let outs: Vec<Value> = tys.iter().map(|&ty| self.b.append_block_param(merge, ty)).collect();
        self.b.ins().brif(cond, bt, &[], be, &[]);
        self.b.switch_to_block(bt);
        let a = then(self)?;
        let a: Vec<BlockArg> = a.into_iter().map(BlockArg::Value).collect();
        self.b.ins().jump(merge, &a);
        self.b.switch_to_block(be);
        let c = other(self)?;
        let c: Vec<BlockArg> = c.into_iter().map(BlockArg::Value).collect();
        self.b.ins().jump(merge, &c);
        self.b.switch_to_block(merge);
        Ok(outs)
    }

    /// `if cond { then() }`.
    pub(super) fn if_then(
        &mut self,
        cond: Value,
        then: impl FnOnce(&mut Self) -> Result<(), JitError>,
    ) -> Result<(), JitError> {
        let bt = self.b.create_block();
        let merge = self.b.create_block();
        self.b.ins().brif(cond, bt, &[], merge, &[]);
        self.b.switch_to_block(bt);
        then(self)?;
        self.b.ins().jump(merge, &[]);
        self.b.switch_to_block(merge);
        Ok(())
    }

    /// `a if cond else b`.
    pub(super) fn select(&mut self, cond: Value, a: Value, b: Value) -> Value {
        if self.vec {
            let le = MemFlagsData::new().with_endianness(Endianness::Little);
            let mask = self.b.ins().bitcast(T::VEC, le, cond);
            return self.b.ins().bitselect(mask, a, b);
        }
        self.b.ins().select(cond, a, b)
    }

    /// `fcmp`.
    pub(super) fn fcmp(&mut self, cc: FloatCC, a: Value, b: Value) -> Value {
        self.b.ins().fcmp(cc, a, b)
    }

    /// Calls the host symbol `name` (declared on first use).
    pub(super) fn call(
        &mut self,
        name: &str,
        params: &[Type],
        rets: &[Type],
        args: &[Value],
    ) -> Result<Vec<Value>, JitError> {
        let fref = match self.funcs.get(name) {
            Some(f) => *f,
            None => {
                let mut sig = self.module.make_signature();
                sig.params.extend(params.iter().map(|&t| AbiParam::new(t)));
                sig.returns.extend(rets.iter().map(|&t| AbiParam::new(t)));
                let id = self
                    .module
                    .declare_function(name, Linkage::Import, &sig)
                    .map_err(|e| JitError::Codegen(e.to_string()))?;
                let f = self.module.declare_func_in_func(id, self.b.func);
                self.funcs.insert(name.to_string(), f);
                f
            }
        };
        let inst = self.b.ins().call(fref, args);
        Ok(self.b.inst_results(inst).to_vec())
    }

    /// Calls the `T` math routine `name` (`expm1`, `log1p`, `exp`, `tanh`) on `x`.
    pub(super) fn math(&mut self, name: &str, x: Value) -> Result<Value, JitError> {
        let sym = typed_symbol::<T>(name);
        let r = self.call(&sym, &[T::TY], &[T::TY], &[x])?;
        r.first().copied().ok_or_else(|| bug("math call result"))
    }

    /// Registers `kernel`; when it steps, emits the call running it here, each step: the
    /// trampoline finds the kernel and its state in the context table, at the kernel's slots.
    pub(super) fn kernel(&mut self, kernel: KernelSpec, what: String) -> Result<(), JitError> {
        let steps = kernel.steps();
        let slot = self.res.kernel(kernel, what);
        if steps {
            let slot = self.ic(slot as i64);
            let sym = typed_symbol::<T>("host_step");
            let (ctx, k, mem) = (self.ctx, self.k, self.mem);
            let p = types::I64;
            self.call(&sym, &[p, p, p, p], &[], &[ctx, slot, k, mem])?;
        }
        Ok(())
    }

    /// Copies `n` elements from region `src` to region `dst`.
    pub(super) fn copy(&mut self, src: usize, dst: usize, n: usize) -> Result<(), JitError> {
        self.for_n(n, |g, i| {
            let v = g.ldm(src, i)?;
            g.stm(v, dst, i)
        })
    }

    /// Offset and size of signal `s`.
    pub(super) fn sig(&self, s: snn_compiler::ir::SignalId) -> Result<(usize, usize), JitError> {
        let i = s.0 as usize;
        match (self.res.sig_off.get(i), self.res.sig_len.get(i)) {
            (Some(&o), Some(&n)) => Ok((o, n)),
            _ => Err(JitError::Invalid(format!("unknown signal %{i}"))),
        }
    }
}

/// An internal inconsistency of the generator.
pub(super) fn bug(what: &str) -> JitError {
    JitError::Codegen(format!("internal error: {what}"))
}
