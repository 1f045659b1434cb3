//! The IR verifier: checks that a [`Program`] is well formed — every signal id in range, the
//! sizes of each op's operands agreeing with what [`crate::backend::interp`] (the definition of
//! the ops) reads and writes, and the order of the ops keeping, for every signal, sets → incs →
//! reads → updates ([`super::schedule`]'s rule, with the absorbed synapses' decay-then-add
//! updates). Run after lowering and after every optimisation pass (debug builds and tests).
//!
//! It reports every fault it finds, each with the op (its list and index) it is in. It does not
//! flag a signal read but never written: its value is its `init` (or zeros), which is defined.

use super::{Op, OpKind, Program, Sel, SignalId};
use snn_runtime::expr::FnExpr;
use snn_runtime::kernels::conv::ConvSpec;
use snn_runtime::kernels::host::HostOp;
use snn_runtime::neurons::{NeuronType, StateInit, StateVar};
use snn_runtime::process::ProcessSpec;
use std::fmt;

/// Where a [`VerifyError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Op `i` of [`Program::ops`] (run every step).
    Step(usize),
    /// Op `i` of [`Program::once`] (hoisted, run before the first step).
    Once(usize),
    /// A signal of [`Program::signals`].
    Signal(SignalId),
    /// Probe `i` of [`Program::probes`].
    Probe(usize),
    /// The program as a whole (its time step).
    Program,
}

/// One fault of a program: where, in which op kind (for ops), and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    /// Where the fault is.
    pub place: Place,
    /// The op's kind name ([`OpKind::name`]) when the fault is in an op.
    pub op: Option<&'static str>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.place {
            Place::Step(i) => write!(f, "step op {i}")?,
            Place::Once(i) => write!(f, "once op {i}")?,
            Place::Signal(s) => write!(f, "signal {}", s.0)?,
            Place::Probe(i) => write!(f, "probe {i}")?,
            Place::Program => write!(f, "program")?,
        }
        if let Some(op) = self.op {
            write!(f, " ({op})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Checks `program`; every fault found, or `Ok`.
pub fn verify(program: &Program) -> Result<(), Vec<VerifyError>> {
    let mut v = Verifier { p: program, errors: Vec::new() };
    v.program();
    if v.errors.is_empty() {
        Ok(())
    } else {
        Err(v.errors)
    }
}

/// The panic message of a stage (`lower`, a pass) whose result fails verification.
pub(crate) fn failure(stage: &str, errors: &[VerifyError]) -> String {
    let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
    format!("IR verification failed after `{stage}`:\n{}", lines.join("\n"))
}

struct Verifier<'a> {
    p: &'a Program,
    errors: Vec<VerifyError>,
}

/// How an op touches a signal, in schedule order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Set,
    Inc,
    Read,
    Update,
}

impl Role {
    fn verb(self) -> &'static str {
        match self {
            Role::Set => "sets",
            Role::Inc => "increments",
            Role::Read => "reads",
            Role::Update => "updates",
        }
    }
}

/// The roles of `op` on each signal it touches, in the order met.
fn roles(op: &Op) -> Vec<(SignalId, Role)> {
    let a = op.kind.access();
    let mut out = Vec::new();
    for (list, role) in
        [(a.sets, Role::Set), (a.incs, Role::Inc), (a.reads, Role::Read), (a.updates, Role::Update)]
    {
        out.extend(list.into_iter().map(|s| (s, role)));
    }
    out
}

/// Per signal, the latest earlier ops that constrain what may come next.
#[derive(Clone, Copy, Default)]
struct Seen {
    inc: Option<usize>,
    read: Option<usize>,
    /// The latest read since the latest update (an inc after an update belongs to the update).
    read_since_update: Option<usize>,
    update: Option<usize>,
}

impl Verifier<'_> {
    fn program(&mut self) {
        let p = self.p;
        if !(p.dt.is_finite() && p.dt > 0.0) {
            self.error(Place::Program, None, format!("dt is {}, not finite and > 0", p.dt));
        }
        for (i, s) in p.signals.iter().enumerate() {
            if !s.init.is_empty() && s.init.len() != s.size {
                let msg = format!(
                    "`{}` has size {} but an init of {} values (empty or the size)",
                    s.name,
                    s.size,
                    s.init.len()
                );
                self.error(Place::Signal(SignalId(i as u32)), None, msg);
            }
        }
        for (i, op) in p.once.iter().enumerate() {
            self.op(Place::Once(i), op);
        }
        for (i, op) in p.ops.iter().enumerate() {
            self.op(Place::Step(i), op);
        }
        self.probes();
        self.order(&p.once, Place::Once);
        self.order(&p.ops, Place::Step);
        self.hoisted();
    }

    fn error(&mut self, place: Place, op: Option<&'static str>, message: String) {
        self.errors.push(VerifyError { place, op, message });
    }

    /// The size of `s`, if it is in range.
    fn size(&self, s: SignalId) -> Option<usize> {
        self.p.signals.get(s.0 as usize).map(|x| x.size)
    }

    /// The printable name of `s` (its index when out of range).
    fn name(&self, s: SignalId) -> String {
        match self.p.signals.get(s.0 as usize) {
            Some(x) => format!("`{}`", x.name),
            None => format!("signal {}", s.0),
        }
    }

    fn probes(&mut self) {
        let p = self.p;
        for (i, pr) in p.probes.iter().enumerate() {
            let at = Place::Probe(i);
            if pr.every == 0 {
                self.error(at, None, format!("probe `{}` samples every 0 steps", pr.name));
            }
            let want: usize = pr.shape.iter().product();
            match self.size(pr.signal) {
                None => self.error(
                    at,
                    None,
                    format!(
                        "probe `{}` samples signal {}, out of range ({} signals)",
                        pr.name,
                        pr.signal.0,
                        p.signals.len()
                    ),
                ),
                Some(n) if n != want => self.error(
                    at,
                    None,
                    format!(
                        "probe `{}` has shape {:?} ({want} values) but samples {} of size {n}",
                        pr.name,
                        pr.shape,
                        self.name(pr.signal)
                    ),
                ),
                Some(_) => {}
            }
        }
    }

    /// The operand checks of one op.
    fn op(&mut self, at: Place, op: &Op) {
        let name = op.kind.name();
        let mut bad = false;
        for (s, _) in roles(op) {
            if self.size(s).is_none() {
                let msg = format!("signal {} out of range ({} signals)", s.0, self.p.signals.len());
                self.error(at, Some(name), msg);
                bad = true;
            }
        }
        if bad {
            return;
        }
        let mut c = OpCheck { v: self, at, name };
        c.kind(&op.kind);
    }

    /// Schedule order within one list: for every signal, no set after an inc, read or update
    /// of it; no inc after a read of it (unless an update came between: the absorbed synapses'
    /// `F *= a; F += b P(S)` after `F`'s readers); no read after an update of it.
    fn order(&mut self, ops: &[Op], place: fn(usize) -> Place) {
        let mut seen = vec![Seen::default(); self.p.signals.len()];
        for (b, op) in ops.iter().enumerate() {
            let rs = roles(op);
            let mut found = Vec::new();
            for &(s, role) in &rs {
                let Some(st) = seen.get(s.0 as usize) else { continue };
                let earlier = match role {
                    Role::Set => [
                        st.update.map(|a| (a, Role::Update)),
                        st.read.map(|a| (a, Role::Read)),
                        st.inc.map(|a| (a, Role::Inc)),
                    ]
                    .into_iter()
                    .flatten()
                    .max_by_key(|&(a, _)| a),
                    Role::Inc => st.read_since_update.map(|a| (a, Role::Read)),
                    Role::Read => st.update.map(|a| (a, Role::Update)),
                    Role::Update => None,
                };
                if let Some((a, what)) = earlier {
                    found.push(format!(
                        "{} {} after op {a} ({}) {} it: the schedule is sets → incs → reads → \
                         updates",
                        role.verb(),
                        self.name(s),
                        ops[a].kind.name(),
                        what.verb()
                    ));
                }
            }
            for msg in found {
                self.error(place(b), Some(op.kind.name()), msg);
            }
            for (s, role) in rs {
                let Some(st) = seen.get_mut(s.0 as usize) else { continue };
                match role {
                    Role::Set => {}
                    Role::Inc => st.inc = Some(b),
                    Role::Read => {
                        st.read = Some(b);
                        st.read_since_update = Some(b);
                    }
                    Role::Update => {
                        st.update = Some(b);
                        st.read_since_update = None;
                    }
                }
            }
        }
    }

    /// A hoisted op runs once, before the first step: what it reads or writes must not be
    /// written by a step op (its result would then not be constant over the run).
    fn hoisted(&mut self) {
        let n = self.p.signals.len();
        let mut step_writer: Vec<Option<usize>> = vec![None; n];
        for (k, op) in self.p.ops.iter().enumerate() {
            for (s, role) in roles(op) {
                if role != Role::Read {
                    if let Some(w) = step_writer.get_mut(s.0 as usize) {
                        w.get_or_insert(k);
                    }
                }
            }
        }
        for (i, op) in self.p.once.iter().enumerate() {
            let mut done = Vec::new();
            for (s, role) in roles(op) {
                let Some(&Some(k)) = step_writer.get(s.0 as usize) else { continue };
                if done.contains(&s) {
                    continue;
                }
                done.push(s);
                let msg = format!(
                    "{} {}, which step op {k} ({}) writes: a hoisted op must touch only \
                     signals constant over the run",
                    role.verb(),
                    self.name(s),
                    self.p.ops[k].kind.name()
                );
                self.error(Place::Once(i), Some(op.kind.name()), msg);
            }
        }
    }
}

/// The size checks of one op whose signals are all in range.
struct OpCheck<'v, 'a> {
    v: &'v mut Verifier<'a>,
    at: Place,
    name: &'static str,
}

impl OpCheck<'_, '_> {
    fn error(&mut self, msg: String) {
        self.v.error(self.at, Some(self.name), msg);
    }

    fn size(&self, s: SignalId) -> usize {
        self.v.size(s).unwrap_or(0)
    }

    /// The length of `s[sel]`, reporting indices out of range.
    fn selected(&mut self, what: &str, s: SignalId, sel: &Sel) -> usize {
        let n = self.size(s);
        match sel {
            None => n,
            Some(ix) => {
                let out: Vec<usize> = ix.iter().copied().filter(|&i| i >= n).collect();
                if let Some(first) = out.first() {
                    let msg = format!(
                        "{what} selection of {} has {} indices out of range (first {first}, \
                         size {n})",
                        self.v.name(s),
                        out.len()
                    );
                    self.error(msg);
                }
                ix.len()
            }
        }
    }

    /// Selected source and destination lengths (reporting bad indices).
    fn pair(
        &mut self,
        src: SignalId,
        src_sel: &Sel,
        dst: SignalId,
        dst_sel: &Sel,
    ) -> (usize, usize) {
        (self.selected("source", src, src_sel), self.selected("destination", dst, dst_sel))
    }

    fn expect(&mut self, what: &str, got: usize, want: usize) {
        if got != want {
            self.error(format!("{what}: {got}, expected {want}"));
        }
    }

    /// Dispatches on the op kind (every kind named, so a new one needs its check here).
    fn kind(&mut self, kind: &OpKind) {
        match kind {
            OpKind::Input { input, dst } => self.input(*input, *dst),
            OpKind::Reset { dst, value } => self.reset(*dst, value),
            OpKind::Copy { src, dst, src_sel, dst_sel, .. } => {
                let (ns, nd) = self.pair(*src, src_sel, *dst, dst_sel);
                self.expect("selected source length vs destination", ns, nd);
            }
            OpKind::ElementwiseInc { scale, src, dst, src_sel, dst_sel } => {
                let (ns, nd) = self.pair(*src, src_sel, *dst, dst_sel);
                self.expect("selected source length vs destination", ns, nd);
                if scale.len() != 1 && scale.len() != ns {
                    self.error(format!("scale has {} values (1 or {ns} expected)", scale.len()));
                }
            }
            OpKind::DotInc { mat, src, dst, src_sel, dst_sel } => {
                let (ns, nd) = self.pair(*src, src_sel, *dst, dst_sel);
                self.expect("matrix rows vs selected destination length", mat.nrows(), nd);
                self.expect("matrix columns vs selected source length", mat.ncols(), ns);
            }
            OpKind::SparseDotInc { rows, cols, vals, src, dst, src_sel, dst_sel } => {
                let (ns, nd) = self.pair(*src, src_sel, *dst, dst_sel);
                self.sparse(rows, cols, vals, ns, nd);
            }
            OpKind::ConvInc { spec, src, dst } => self.conv(spec, *src, *dst),
            OpKind::SimNeurons { neuron, j, out, states, init, .. } => {
                self.neurons(neuron, *j, *out, states, init)
            }
            OpKind::Filter { src, dst, .. } => {
                let what = format!("size of {} vs source {}", self.v.name(*dst), self.v.name(*src));
                self.expect(&what, self.size(*dst), self.size(*src));
            }
            OpKind::Scale { .. } => {}
            OpKind::NodeFn { f, input, dst } => self.node_fn(f, *input, *dst),
            OpKind::Process { spec, dst, .. } => self.process(spec, *dst),
            OpKind::HostFn { op, input, dst } => self.host_fn(op, *input, *dst),
        }
    }

    /// An input's signal has the input's declared size.
    fn input(&mut self, input: usize, dst: SignalId) {
        match self.v.p.inputs.get(input) {
            None => {
                let n = self.v.p.inputs.len();
                self.error(format!("input {input} out of range ({n} inputs)"));
            }
            Some(d) => {
                let want: usize = d.shape.iter().product();
                let what = format!(
                    "size of {} (input `{}` of shape {:?})",
                    self.v.name(dst),
                    d.name,
                    d.shape
                );
                self.expect(&what, self.size(dst), want);
            }
        }
    }

    /// A reset value is one value or one per element.
    fn reset(&mut self, dst: SignalId, value: &[f64]) {
        let n = self.size(dst);
        if value.len() != 1 && value.len() != n {
            let msg = format!(
                "reset value has {} values; {} has size {n} (1 or {n} expected)",
                value.len(),
                self.v.name(dst)
            );
            self.error(msg);
        }
    }

    /// Sparse triplets of one length, within the selected lengths `ns` (columns) and `nd` (rows).
    fn sparse(&mut self, rows: &[usize], cols: &[usize], vals: &[f64], ns: usize, nd: usize) {
        if rows.len() != cols.len() || rows.len() != vals.len() {
            let msg = format!(
                "{} rows, {} columns and {} values (equal lengths expected)",
                rows.len(),
                cols.len(),
                vals.len()
            );
            self.error(msg);
        }
        if let Some(r) = rows.iter().find(|&&r| r >= nd) {
            self.error(format!("row {r} out of range ({nd} destination values)"));
        }
        if let Some(c) = cols.iter().find(|&&c| c >= ns) {
            self.error(format!("column {c} out of range ({ns} source values)"));
        }
    }

    /// A convolution's signals have its input and output shapes, which agree with its kernel.
    fn conv(&mut self, spec: &ConvSpec, src: SignalId, dst: SignalId) {
        let n_in: usize = spec.input_shape.iter().product();
        let n_out: usize = spec.output_shape.iter().product();
        let what =
            format!("size of source {} vs input shape {:?}", self.v.name(src), spec.input_shape);
        self.expect(&what, self.size(src), n_in);
        let what = format!(
            "size of destination {} vs output shape {:?}",
            self.v.name(dst),
            spec.output_shape
        );
        self.expect(&what, self.size(dst), n_out);
        self.conv_geometry(spec);
    }

    /// Neurons: output and states of the input's size, state variables the type has.
    fn neurons(
        &mut self,
        neuron: &NeuronType,
        j: SignalId,
        out: SignalId,
        states: &[(StateVar, SignalId)],
        init: &[(StateVar, StateInit)],
    ) {
        let n = self.size(j);
        let what = format!("size of output {} vs input {}", self.v.name(out), self.v.name(j));
        self.expect(&what, self.size(out), n);
        let known = neuron.state_vars();
        for (var, s) in states {
            let what = format!("size of state `{var}` {}", self.v.name(*s));
            self.expect(&what, self.size(*s), n);
            if !known.contains(var) {
                self.error(format!(
                    "the neuron type has no state `{var}` (it has {:?})",
                    neuron.state_names()
                ));
            }
        }
        for (var, i) in init {
            if !known.contains(var) {
                self.error(format!("initial `{var}`: the neuron type has no such state"));
            }
            if let StateInit::Values(v) = i {
                self.expect(&format!("initial `{var}` values vs neurons"), v.len(), n);
            }
        }
    }

    /// A node function's input and output signals have its sizes.
    fn node_fn(&mut self, f: &FnExpr, input: Option<SignalId>, dst: SignalId) {
        match input {
            Some(i) => {
                let what = format!("size of input {} vs the function's input", self.v.name(i));
                self.expect(&what, self.size(i), f.size_in);
            }
            None => self.expect("function input size without an input signal", f.size_in, 0),
        }
        let what = format!("size of {} vs the function's output", self.v.name(dst));
        self.expect(&what, self.size(dst), f.size_out);
    }

    /// A presented input's rows have the signal's size.
    fn process(&mut self, spec: &ProcessSpec, dst: SignalId) {
        if let ProcessSpec::PresentInput { inputs, .. } = spec {
            let rows = if inputs.ndim() == 0 { 0 } else { inputs.shape()[0] };
            if let Some(per_row) = inputs.len().checked_div(rows) {
                let what = format!("size of {} vs one presented input", self.v.name(dst));
                self.expect(&what, self.size(dst), per_row);
            }
        }
    }

    /// A host op's input and output signals have the sizes its shapes give.
    fn host_fn(&mut self, op: &HostOp, input: SignalId, dst: SignalId) {
        let (n_in, n_out) = (self.size(input), self.size(dst));
        let want = match op {
            HostOp::MaxPool { input_shape, output_shape, .. } => Some((
                input_shape.iter().product::<usize>(),
                output_shape.iter().product::<usize>(),
            )),
            HostOp::Softmax { shape, axis } => {
                if *axis >= shape.len() {
                    self.error(format!("softmax axis {axis} of shape {shape:?}"));
                }
                let n = shape.iter().product::<usize>();
                Some((n, n))
            }
            HostOp::Elu { .. } => Some((n_in, n_in)),
            HostOp::Keras(k) => Some((
                k.input_shapes.iter().map(|s| s.iter().product::<usize>()).sum::<usize>(),
                k.output_shape.iter().product::<usize>(),
            )),
        };
        if let Some((w_in, w_out)) = want {
            let what = format!("size of input {} for {}", self.v.name(input), op.name());
            self.expect(&what, n_in, w_in);
            let what = format!("size of output {} for {}", self.v.name(dst), op.name());
            self.expect(&what, n_out, w_out);
        }
    }

    /// The shapes of a convolution agree with its kernel (`kernel_size + (in / groups, out)`).
    fn conv_geometry(&mut self, spec: &ConvSpec) {
        let (xi, yo) = (&spec.input_shape, &spec.output_shape);
        let k = spec.kernel.shape();
        if xi.len() < 2 || yo.len() != xi.len() || k.len() != xi.len() + 1 {
            let msg = format!(
                "input shape {xi:?}, output shape {yo:?} and kernel shape {k:?} differ in rank"
            );
            self.error(msg);
            return;
        }
        let nd = xi.len() - 1;
        if spec.strides.len() != nd || spec.pad_before.len() != nd {
            let msg = format!(
                "{} strides and {} paddings for {nd} spatial dims",
                spec.strides.len(),
                spec.pad_before.len()
            );
            self.error(msg);
        }
        let ch = |s: &[usize]| if spec.channels_last { s[s.len() - 1] } else { s[0] };
        let (cin, cout) = (ch(xi), ch(yo));
        let (kci, kco) = (k[nd], k[nd + 1]);
        self.expect("output channels vs the kernel's", cout, kco);
        let want_cin = if spec.transpose { kci } else { kci * spec.groups.max(1) };
        self.expect("input channels vs the kernel's (times groups)", cin, want_cin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{InputDecl, ProbeDecl, Signal};
    use ndarray::Array2;
    use snn_syntax::Span;

    fn sig(name: &str, size: usize) -> Signal {
        Signal { name: name.to_string(), size, init: Vec::new() }
    }

    fn op(kind: OpKind) -> Op {
        Op::new(kind, Span::default())
    }

    const A: SignalId = SignalId(0);
    const B: SignalId = SignalId(1);
    const C: SignalId = SignalId(2);

    fn copy(src: SignalId, dst: SignalId, src_sel: Sel, dst_sel: Sel) -> OpKind {
        OpKind::Copy { src, dst, src_sel, dst_sel, inc: true }
    }

    fn dot(rows: usize, cols: usize, src: SignalId, dst: SignalId) -> OpKind {
        OpKind::DotInc { mat: Array2::ones((rows, cols)), src, dst, src_sel: None, dst_sel: None }
    }

    /// `a` (input, 2) → `b = 0; b += a` → `c = 0; c += M[3, 2] @ b`, `c` probed.
    fn valid() -> Program {
        Program {
            signals: vec![sig("a", 2), sig("b", 2), sig("c", 3)],
            once: Vec::new(),
            ops: vec![
                op(OpKind::Input { input: 0, dst: A }),
                op(OpKind::Reset { dst: B, value: vec![0.0] }),
                op(copy(A, B, None, None)),
                op(OpKind::Reset { dst: C, value: vec![0.0] }),
                op(dot(3, 2, B, C)),
            ],
            inputs: vec![InputDecl { name: "a".into(), shape: vec![2] }],
            probes: vec![ProbeDecl { name: "c".into(), signal: C, shape: vec![3], every: 1 }],
            dt: 0.001,
            ensembles: Vec::new(),
        }
    }

    fn errors(p: &Program) -> Vec<VerifyError> {
        verify(p).expect_err("the program is broken")
    }

    /// The one error of `p`, which must be at `place` in op `name` and mention `text`.
    fn only(p: &Program, place: Place, name: Option<&str>, text: &str) {
        let e = errors(p);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!((e[0].place, e[0].op), (place, name), "{}", e[0]);
        assert!(e[0].message.contains(text), "`{text}` not in: {}", e[0]);
    }

    #[test]
    fn a_valid_program_passes() {
        assert_eq!(verify(&valid()), Ok(()));
    }

    #[test]
    fn out_of_range_signal() {
        let mut p = valid();
        p.ops[2] = op(copy(SignalId(9), B, None, None));
        only(&p, Place::Step(2), Some("Copy"), "signal 9 out of range (3 signals)");
        let mut p = valid();
        p.probes[0].signal = SignalId(3);
        only(&p, Place::Probe(0), None, "samples signal 3, out of range");
    }

    #[test]
    fn wrong_matrix_shape() {
        let mut p = valid();
        p.ops[4] = op(dot(2, 2, B, C));
        only(
            &p,
            Place::Step(4),
            Some("DotInc"),
            "matrix rows vs selected destination length: 2, expected 3",
        );
        p.ops[4] = op(dot(3, 4, B, C));
        only(
            &p,
            Place::Step(4),
            Some("DotInc"),
            "matrix columns vs selected source length: 4, expected 2",
        );
        // A destination selection of 2 of `c`'s values takes a 2-row matrix.
        p.ops[4] = op(OpKind::DotInc {
            mat: Array2::ones((2, 2)),
            src: B,
            dst: C,
            src_sel: None,
            dst_sel: Some(vec![0, 2]),
        });
        assert_eq!(verify(&p), Ok(()));
    }

    #[test]
    fn read_scheduled_before_the_set() {
        let mut p = valid();
        // `c += M @ b` before `b = 0; b += a`: it reads last step's `b`.
        let read = p.ops.remove(4);
        p.ops.insert(1, read);
        let e = errors(&p);
        assert_eq!(e.len(), 3, "{e:#?}");
        assert_eq!((e[0].place, e[0].op), (Place::Step(2), Some("Reset")));
        assert!(e[0].message.contains("sets `b` after op 1 (DotInc) reads it"), "{}", e[0]);
        assert_eq!((e[1].place, e[1].op), (Place::Step(3), Some("Copy")));
        assert!(e[1].message.contains("increments `b` after op 1 (DotInc) reads it"), "{}", e[1]);
        assert_eq!((e[2].place, e[2].op), (Place::Step(4), Some("Reset")));
        assert!(e[2].message.contains("sets `c` after op 1 (DotInc) increments it"), "{}", e[2]);
        // And a set after an increment, a read after an update.
        let mut p = valid();
        p.ops.swap(1, 2);
        only(&p, Place::Step(2), Some("Reset"), "sets `b` after op 1 (Copy) increments it");
        let mut p = valid();
        p.ops.insert(2, op(OpKind::Scale { dst: B, factor: 0.5 }));
        only(&p, Place::Step(5), Some("DotInc"), "reads `b` after op 2 (Scale) updates it");
    }

    #[test]
    fn absorbed_synapse_decays_then_adds_after_its_readers() {
        // `c += M @ b` reads `b`; then `b *= a; b += a` (absorb's update phase), `b` never set.
        let mut p = valid();
        p.ops.remove(1);
        let inc = p.ops.remove(1);
        p.ops.push(op(OpKind::Scale { dst: B, factor: 0.9 }));
        p.ops.push(inc);
        assert_eq!(verify(&p), Ok(()));
        // Without the decay between, the increment comes after the read: an error.
        p.ops.remove(3);
        only(&p, Place::Step(3), Some("Copy"), "increments `b` after op 2 (DotInc) reads it");
    }

    #[test]
    fn bad_selections() {
        let mut p = valid();
        p.ops[2] = op(copy(A, B, Some(vec![0, 2]), None));
        only(
            &p,
            Place::Step(2),
            Some("Copy"),
            "source selection of `a` has 1 indices out of range (first 2, size 2)",
        );
        p.ops[2] = op(copy(A, B, Some(vec![1]), None));
        only(
            &p,
            Place::Step(2),
            Some("Copy"),
            "selected source length vs destination: 1, expected 2",
        );
        p.ops[2] = op(copy(A, B, Some(vec![1]), Some(vec![0])));
        assert_eq!(verify(&p), Ok(()));
        p.ops[2] = op(copy(A, B, None, Some(vec![0, 7])));
        only(
            &p,
            Place::Step(2),
            Some("Copy"),
            "destination selection of `b` has 1 indices out of range",
        );
    }

    #[test]
    fn op_sizes() {
        let mut p = valid();
        p.ops[1] = op(OpKind::Reset { dst: B, value: vec![0.0; 3] });
        only(&p, Place::Step(1), Some("Reset"), "reset value has 3 values");
        let mut p = valid();
        p.ops[2] = op(OpKind::ElementwiseInc {
            scale: vec![1.0; 3],
            src: A,
            dst: B,
            src_sel: None,
            dst_sel: None,
        });
        only(&p, Place::Step(2), Some("ElementwiseInc"), "scale has 3 values (1 or 2 expected)");
        let mut p = valid();
        p.ops[4] = op(OpKind::SparseDotInc {
            rows: vec![0, 3],
            cols: vec![1, 2],
            vals: vec![1.0],
            src: B,
            dst: C,
            src_sel: None,
            dst_sel: None,
        });
        let e = errors(&p);
        assert_eq!(e.len(), 3, "{e:#?}");
        assert!(e[0].message.contains("2 rows, 2 columns and 1 values"));
        assert!(e[1].message.contains("row 3 out of range (3 destination values)"));
        assert!(e[2].message.contains("column 2 out of range (2 source values)"));
        let mut p = valid();
        p.inputs[0].shape = vec![3];
        only(&p, Place::Step(0), Some("Input"), "input `a` of shape [3]");
        p.ops[0] = op(OpKind::Input { input: 1, dst: A });
        only(&p, Place::Step(0), Some("Input"), "input 1 out of range (1 inputs)");
        let mut p = valid();
        p.ops.push(op(OpKind::Filter {
            filter: snn_runtime::synapse::Synapse::Lowpass { tau: 0.01 }.discretize(0.001).unwrap(),
            src: C,
            dst: B,
        }));
        let e = errors(&p);
        assert!(
            e.iter().any(|e| e.place == Place::Step(5)
                && e.message.contains("size of `b` vs source `c`: 2, expected 3")),
            "{e:#?}"
        );
    }

    #[test]
    fn hoisted_ops_touch_only_constants() {
        let mut p = valid();
        // `b = 0; b += a` hoisted while `a` stays a per-step input.
        let inc = p.ops.remove(2);
        let reset = p.ops.remove(1);
        p.once = vec![reset, inc];
        only(&p, Place::Once(1), Some("Copy"), "reads `a`, which step op 0 (Input) writes");
        // With the input hoisted too, it is valid.
        let input = p.ops.remove(0);
        p.once.insert(0, input);
        assert_eq!(verify(&p), Ok(()));
    }

    #[test]
    fn optimize_verified_names_the_failing_stage() {
        let mut p = valid();
        // `b` is distributed over `c`'s product: still valid.
        let report = crate::ir::opt::optimize_verified(&mut p, &[false]).expect("valid");
        assert_eq!(report.len(), 1, "{report:?}");
        assert!(report[0].starts_with("distribute: 1"), "{report:?}");
        let mut p = valid();
        p.ops[4] = op(dot(2, 2, B, C));
        let (stage, e) = crate::ir::opt::optimize_verified(&mut p, &[false]).expect_err("broken");
        assert_eq!((stage.as_str(), e.len()), ("input", 1), "{e:#?}");
    }

    #[test]
    fn every_fault_is_reported() {
        let mut p = valid();
        p.dt = 0.0;
        p.signals[0].init = vec![1.0];
        p.ops[2] = op(copy(A, SignalId(5), None, None));
        p.ops[4] = op(dot(3, 3, B, C));
        p.ops.swap(3, 4);
        p.probes[0].shape = vec![2, 2];
        p.probes[0].every = 0;
        let e = errors(&p);
        let places: Vec<Place> = e.iter().map(|e| e.place).collect();
        assert_eq!(
            places,
            [
                Place::Program,
                Place::Signal(A),
                Place::Step(2),
                Place::Step(3),
                Place::Probe(0),
                Place::Probe(0),
                Place::Step(4),
            ],
            "{e:#?}"
        );
        assert_eq!(e[0].to_string(), "program: dt is 0, not finite and > 0");
        assert!(e[1].message.contains("`a` has size 2 but an init of 1 values"));
        assert_eq!(e[2].to_string(), "step op 2 (Copy): signal 5 out of range (3 signals)");
        assert!(e[3].message.contains("matrix columns"), "{}", e[3]);
        assert!(e[4].message.contains("every 0 steps"), "{}", e[4]);
        assert!(e[5].message.contains("shape [2, 2] (4 values) but samples `c` of size 3"));
        assert!(e[6].message.contains("sets `c` after op 3 (DotInc) increments it"), "{}", e[6]);
    }
}
