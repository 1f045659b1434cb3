//! Hand-built programs exercising what the examples and conformance cases do not: every neuron
//! type (stochastic wrappers, spiking leaky ReLU, NaN currents), selections by table, ops whose
//! source is their destination, every dot-product path, large sparse products, every filter
//! kind, every node-function construct (and the host fallback), processes, host functions,
//! per-step and held inputs, sparse probes. The JIT must equal the interpreter bit for bit.

use super::compile as jit_compile;
use ndarray::{Array2, ArrayD, IxDyn, ShapeBuilder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use snn_compiler::backend::interp;
use snn_compiler::func::Fn2;
use snn_compiler::func::{FExpr, Fn1, FnExpr, Reduce};
use snn_compiler::ir::{InputDecl, Op, OpKind, ProbeDecl, Program, Signal, SignalId};
use snn_compiler::spec::{HostOp, ProcessSpec};
use snn_runtime::neurons::*;
use snn_runtime::synapse::Synapse;
use snn_runtime::Precision;
use snn_syntax::Span;

struct B(Program);

impl B {
    fn new() -> Self {
        B(Program {
            signals: vec![],
            once: vec![],
            ops: vec![],
            inputs: vec![],
            probes: vec![],
            dt: 0.001,
            ensembles: vec![],
        })
    }
    fn sig(&mut self, size: usize) -> SignalId {
        self.sig_init(size, vec![])
    }
    fn sig_init(&mut self, size: usize, init: Vec<f64>) -> SignalId {
        let id = SignalId(self.0.signals.len() as u32);
        self.0.signals.push(Signal { name: format!("s{}", id.0), size, init });
        id
    }
    fn op(&mut self, kind: OpKind) {
        self.0.ops.push(Op::new(kind, Span::default()));
    }
    fn probe(&mut self, s: SignalId, every: usize) {
        let size = self.0.signals[s.0 as usize].size;
        let name = format!("p{}", self.0.probes.len());
        self.0.probes.push(ProbeDecl { name, signal: s, shape: vec![size], every });
    }
    fn input(&mut self, size: usize) -> SignalId {
        let s = self.sig(size);
        let input = self.0.inputs.len();
        self.0.inputs.push(InputDecl { name: format!("in{input}"), shape: vec![size] });
        self.op(OpKind::Input { input, dst: s });
        s
    }
}

fn random(shape: &[usize], lo: f64, hi: f64, seed: u64) -> ArrayD<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    ArrayD::from_shape_fn(IxDyn(shape), |_| rng.gen_range(lo..hi))
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()) || (a == 0.0 && b == 0.0)
}

/// Runs `p` on both backends in f64 and f32 (jit on 2 threads) and requires equal results.
fn check(p: &Program, steps: usize, batch: usize, inputs: &[ArrayD<f64>]) {
    for precision in [Precision::F64, Precision::F32] {
        let want = match precision {
            Precision::F64 => interp::run::<f64>(p, steps, batch, inputs).expect("interp"),
            Precision::F32 => {
                let cast: Vec<ArrayD<f32>> = inputs.iter().map(|a| a.mapv(|v| v as f32)).collect();
                let out = interp::run::<f32>(p, steps, batch, &cast).expect("interp");
                out.into_iter().map(|a| a.mapv(f64::from)).collect()
            }
        };
        let compiled = jit_compile(p, precision).expect("compiles");
        let mut counted = 0;
        let got = compiled.run(steps, batch, inputs, 2, &mut |n| counted += n).expect("runs");
        assert_eq!(counted, (steps * batch) as u64, "progress adds up");
        for ((pd, w), g) in p.probes.iter().zip(&want).zip(&got) {
            assert_eq!(w.shape(), g.shape(), "{}", pd.name);
            for (i, (&a, &b)) in w.iter().zip(g.iter()).enumerate() {
                assert!(same(a, b), "{precision:?} probe {} [{i}]: interp {a}, jit {b}", pd.name);
            }
        }
    }
}

/// Every neuron type of snn-runtime's table has its generated kernel exercised below.
#[test]
fn every_neuron_kind_is_tested() {
    let kinds: Vec<NeuronKind> = every_neuron_type().iter().map(NeuronType::kind).collect();
    for info in NEURON_TYPES {
        assert!(kinds.contains(&info.kind), "{} has no JIT kernel test", info.nengo);
    }
}

fn every_neuron_type() -> Vec<NeuronType> {
    let lif_rate = NeuronType::from(LifRate::default());
    vec![
        RectifiedLinear { amplitude: 0.5 }.into(),
        SpikingRectifiedLinear { amplitude: 2.0 }.into(),
        LeakyRelu { negative_slope: 0.1, amplitude: 1.5 }.into(),
        SpikingLeakyRelu { negative_slope: 0.2, amplitude: 1.0 }.into(),
        Sigmoid { tau_ref: 0.003 }.into(),
        Tanh { tau_ref: 0.002 }.into(),
        lif_rate.clone(),
        Lif { tau_rc: 0.03, tau_ref: 0.001, min_voltage: -0.5, amplitude: 1.0 }.into(),
        Lif::default().into(),
        AdaptiveLifRate::default().into(),
        AdaptiveLif::default().into(),
        Izhikevich::default().into(),
        NeuronType::RegularSpiking(RegularSpiking::new(lif_rate.clone())),
        NeuronType::StochasticSpiking(StochasticSpiking::new(lif_rate.clone())),
        NeuronType::PoissonSpiking(PoissonSpiking::new(lif_rate)),
        NeuronType::PoissonSpiking(PoissonSpiking::new(Tanh::default().into())),
        NeuronType::StochasticSpiking(StochasticSpiking::new(Tanh::default().into())),
    ]
}

#[test]
fn every_neuron_type_with_probed_states() {
    let n = 12;
    for (t, neuron) in every_neuron_type().into_iter().enumerate() {
        let mut b = B::new();
        let j_in = b.input(n);
        let j = b.sig(n);
        let scale = if matches!(neuron, NeuronType::Izhikevich(_)) { 8.0 } else { 2.0 };
        b.op(OpKind::ElementwiseInc {
            scale: vec![scale],
            src: j_in,
            dst: j,
            src_sel: None,
            dst_sel: None,
        });
        b.op(OpKind::Reset { dst: j, value: vec![0.5] });
        let out = b.sig(n);
        let states: Vec<(StateVar, SignalId)> =
            neuron.state_vars().into_iter().map(|v| (v, b.sig(n))).collect();
        // Every state variable set explicitly (values, a constant or a range), or all defaults.
        let init: Vec<(StateVar, StateInit)> = neuron
            .state_vars()
            .into_iter()
            .filter(|_| t % 4 != 3)
            .map(|v| {
                let init = match t % 4 {
                    0 => StateInit::Values((0..n).map(|i| i as f64 / n as f64).collect()),
                    1 => StateInit::Constant(0.001 * (v.index() + 1) as f64),
                    _ => StateInit::Uniform { low: -0.5, high: 0.9 },
                };
                (v, init)
            })
            .collect();
        for (_, s) in &states {
            b.probe(*s, 1);
        }
        b.probe(out, 1);
        b.op(OpKind::SimNeurons { neuron, j, out, states, init, seed: 7 });
        let mut p = b.0;
        // sets first: the reset before the increment
        p.ops.swap(1, 2);
        let mut cur = random(&[3, 200, n], -1.0, 6.0, t as u64);
        cur[[1, 5, 3]] = f64::NAN;
        check(&p, 200, 3, &[cur]);
    }
}

/// Fused LIF loops long enough to defer the vectors their fast path refuses (>= 256 vectors in
/// f64 and f32, and a tail): with a later op of the loop that does not touch the neurons'
/// signals (deferred) and one that reads their output (not deferred).
#[test]
fn long_lif_loops_defer_refused_vectors() {
    let n = 1030;
    for reads_output in [false, true] {
        let mut b = B::new();
        let j_in = b.input(n);
        let j = b.sig(n);
        let out = b.sig(n);
        let other = b.sig(n);
        let states: Vec<(StateVar, SignalId)> =
            [StateVar::Voltage, StateVar::RefractoryTime].iter().map(|v| (*v, b.sig(n))).collect();
        b.op(OpKind::Reset { dst: j, value: vec![0.5] });
        let inc = |dst, src| OpKind::ElementwiseInc {
            scale: vec![2.0],
            src,
            dst,
            src_sel: None,
            dst_sel: None,
        };
        b.op(inc(j, j_in));
        let neuron = Lif { tau_rc: 0.02, tau_ref: 0.002, min_voltage: 0.0, amplitude: 1.0 };
        let st = states.clone();
        b.op(OpKind::SimNeurons {
            neuron: neuron.into(),
            j,
            out,
            states: st,
            init: Vec::new(),
            seed: 3,
        });
        b.op(OpKind::Reset { dst: other, value: vec![0.25] });
        if reads_output {
            b.op(inc(other, out));
        }
        let want: Vec<bool> = (0..b.0.ops.len()).map(|k| k > 1).collect();
        assert_eq!(crate::fuse::plan(&b.0), want, "the current, neurons and readout share a loop");
        b.probe(out, 1);
        b.probe(other, 1);
        for (_, s) in &states {
            b.probe(*s, 1);
        }
        check(&b.0, 100, 2, &[random(&[2, 100, n], 0.0, 3.0, 5)]);
    }
}

#[test]
fn selections_aliasing_and_elementwise() {
    let mut b = B::new();
    let x = b.input(10);
    let y = b.sig_init(10, (0..10).map(f64::from).collect());
    b.op(OpKind::Copy {
        src: x,
        dst: y,
        src_sel: Some(vec![9, 0, 3, 3, 7, 1, 2, 5, 6, 8, 4, 0]),
        dst_sel: Some(vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9]),
        inc: true,
    });
    // a signal copied onto itself, reversed (reads a copy first)
    b.op(OpKind::Copy {
        src: y,
        dst: y,
        src_sel: Some((0..10).rev().collect()),
        dst_sel: None,
        inc: false,
    });
    let z = b.sig(4);
    b.op(OpKind::Reset { dst: z, value: vec![1.0, -2.0, 3.0, 0.25] });
    b.op(OpKind::ElementwiseInc {
        scale: vec![0.5, -1.0, 2.0, 3.0, 9.0],
        src: y,
        dst: z,
        src_sel: Some(vec![2, 3, 4, 5]),
        dst_sel: Some(vec![3, 1, 0, 2]),
    });
    let w = b.sig(30);
    b.op(OpKind::ElementwiseInc {
        scale: vec![1.5],
        src: x,
        dst: w,
        src_sel: Some((0..10).chain(0..10).chain(0..10).collect()),
        dst_sel: None,
    });
    b.probe(y, 1);
    b.probe(z, 2);
    b.probe(w, 3);
    check(&b.0, 20, 2, &[random(&[2, 20, 10], -1.0, 1.0, 1)]);
    // the same input held
    check(&b.0, 20, 2, &[random(&[2, 10], -1.0, 1.0, 2)]);
}

#[test]
fn dense_products_every_path() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut mat = |m: usize, k: usize| Array2::from_shape_fn((m, k), |_| rng.gen_range(-1.0..1.0));
    let mut b = B::new();
    let x = b.input(40);
    let y = b.sig(64);
    // short rows, many of them (vectorised across rows) and few
    b.op(OpKind::DotInc {
        mat: mat(64, 3),
        src: x,
        dst: y,
        src_sel: Some(vec![5, 1, 30]),
        dst_sel: None,
    });
    b.op(OpKind::DotInc {
        mat: mat(5, 2),
        src: x,
        dst: y,
        src_sel: Some(vec![0, 1]),
        dst_sel: Some(vec![60, 2, 9, 9, 33]),
    });
    // contiguous rows of 40 (8-way partial sums + remainder), into a table selection
    b.op(OpKind::DotInc {
        mat: mat(7, 40),
        src: x,
        dst: y,
        src_sel: None,
        dst_sel: Some(vec![1, 3, 5, 7, 11, 13, 17]),
    });
    b.op(OpKind::DotInc {
        mat: mat(64, 37),
        src: x,
        dst: y,
        src_sel: Some((3..40).collect()),
        dst_sel: None,
    });
    // column-major rows (summed sequentially), vectorised and not
    let f = mat(64, 40);
    let fortran = {
        let mut a = Array2::zeros((64, 40).f());
        a.assign(&f);
        a
    };
    b.op(OpKind::DotInc { mat: fortran.clone(), src: x, dst: y, src_sel: None, dst_sel: None });
    b.op(OpKind::DotInc {
        mat: fortran.slice(ndarray::s![..3, ..]).to_owned(),
        src: x,
        dst: y,
        src_sel: None,
        dst_sel: Some(vec![2, 0, 1]),
    });
    // a product whose source is its destination
    let sq = b.sig_init(16, (0..16).map(|v| v as f64 * 0.1).collect());
    b.op(OpKind::DotInc { mat: mat(16, 16), src: sq, dst: sq, src_sel: None, dst_sel: None });
    b.op(OpKind::DotInc {
        mat: mat(16, 3),
        src: sq,
        dst: sq,
        src_sel: Some(vec![0, 15, 7]),
        dst_sel: None,
    });
    // large contiguous rows (the Rust kernel: rows four at a time and the rest, 8-way partial
    // sums and the remainder), into the whole destination, a table and its own source
    let big = b.sig(140);
    b.op(OpKind::DotInc {
        mat: mat(131, 37),
        src: x,
        dst: big,
        src_sel: Some((3..40).collect()),
        dst_sel: Some((0..131).collect()),
    });
    b.op(OpKind::DotInc {
        mat: mat(110, 40),
        src: x,
        dst: big,
        src_sel: None,
        dst_sel: Some((0..110).map(|i| (i * 7) % 140).collect()),
    });
    let sq2 = b.sig_init(70, (0..70).map(|v| v as f64 * 0.01).collect());
    b.op(OpKind::DotInc { mat: mat(70, 70), src: sq2, dst: sq2, src_sel: None, dst_sel: None });
    b.probe(y, 1);
    b.probe(sq, 1);
    b.probe(big, 1);
    b.probe(sq2, 1);
    check(&b.0, 5, 3, &[random(&[3, 40], -1.0, 1.0, 4)]);
}

/// The generated dot products (rows too short for the Rust kernel) follow the runtime's documented
/// order ([`snn_runtime::kernels::dense::dot_rows`]) bit for bit, on odd lengths, f64 and f32.
#[test]
fn generated_dots_are_the_runtime_order() {
    use snn_runtime::kernels::dense;
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for k in [1usize, 3, 7, 9, 13, 17, 31, 41, 63] {
        let m = 5;
        // Values of mixed magnitude, so that a different order would round differently.
        let mat = Array2::from_shape_fn((m, k), |_| {
            rng.gen_range(-1.0..1.0) * 1e4f64.powf(rng.gen_range(-1.0..1.0))
        });
        let x = random(&[1, k], -1.0, 1.0, k as u64);
        let mut b = B::new();
        let xs = b.input(k);
        let y = b.sig(m);
        b.op(OpKind::Reset { dst: y, value: vec![0.0] });
        b.op(OpKind::DotInc { mat: mat.clone(), src: xs, dst: y, src_sel: None, dst_sel: None });
        b.probe(y, 1);
        assert!(m * k < super::specs::MIN_TERMS, "generated, not the Rust kernel");
        let xv = x.as_slice().expect("contiguous");
        for precision in [Precision::F64, Precision::F32] {
            let want: Vec<f64> = match precision {
                Precision::F64 => {
                    let mut y = vec![0.0; m];
                    dense::dot_rows(mat.view(), xv, &mut y);
                    y.iter().map(|&v| 0.0 + v).collect()
                }
                Precision::F32 => {
                    let x32: Vec<f32> = xv.iter().map(|&v| v as f32).collect();
                    let mut y = vec![0.0f32; m];
                    dense::dot_rows(mat.mapv(|v| v as f32).view(), &x32, &mut y);
                    y.iter().map(|&v| f64::from(0.0 + v)).collect()
                }
            };
            let compiled = jit_compile(&b.0, precision).expect("compiles");
            let got = compiled.run(1, 1, std::slice::from_ref(&x), 1, &mut |_| {}).expect("runs");
            for (r, (&w, &g)) in want.iter().zip(got[0].iter()).enumerate() {
                assert_eq!(w.to_bits(), g.to_bits(), "{precision:?} k = {k} row {r}: {w} vs {g}");
            }
        }
    }
}

#[test]
fn sparse_products() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut b = B::new();
    let x = b.input(50);
    let y = b.sig(30);
    for (nnz, sel) in [(6, false), (300, false), (200, true)] {
        let rows: Vec<usize> = (0..nnz).map(|_| rng.gen_range(0..20)).collect();
        let cols: Vec<usize> = (0..nnz).map(|_| rng.gen_range(0..40)).collect();
        let vals: Vec<f64> = (0..nnz).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let (src_sel, dst_sel) = if sel {
            (Some((10..50).rev().collect()), Some((0..20).map(|i| 29 - i).collect()))
        } else {
            (Some((0..40).collect()), Some((5..25).collect()))
        };
        b.op(OpKind::SparseDotInc { rows, cols, vals, src: x, dst: y, src_sel, dst_sel });
    }
    let r = b.sig_init(40, (0..40).map(|v| v as f64).collect());
    let rows: Vec<usize> = (0..100).map(|_| rng.gen_range(0..40)).collect();
    let cols: Vec<usize> = (0..100).map(|_| rng.gen_range(0..40)).collect();
    let vals: Vec<f64> = (0..100).map(|_| rng.gen_range(-0.1..0.1)).collect();
    b.op(OpKind::SparseDotInc { rows, cols, vals, src: r, dst: r, src_sel: None, dst_sel: None });
    b.probe(y, 1);
    b.probe(r, 1);
    check(&b.0, 10, 2, &[random(&[2, 10, 50], -1.0, 1.0, 6)]);
}

#[test]
fn every_filter_kind() {
    let mut b = B::new();
    let x = b.input(5);
    let synapses = [
        Synapse::Lowpass { tau: 0.0 },
        Synapse::Lowpass { tau: 0.005 },
        Synapse::Alpha { tau: 0.004 },
        Synapse::LinearFilter { num: vec![1.0], den: vec![0.002, 0.0003, 0.03, 1.0] },
        Synapse::LinearFilter { num: vec![0.5, 1.0], den: vec![0.01, 1.0] },
        Synapse::LinearFilter { num: vec![2.0], den: vec![1.0] },
    ];
    for syn in synapses {
        let filter = syn.discretize(0.001).expect("filter");
        let y = b.sig(5);
        b.op(OpKind::Filter { filter, src: x, dst: y });
        b.probe(y, 1);
    }
    // a filter updating its own input signal
    let s = b.sig_init(5, vec![1.0; 5]);
    let filter = Synapse::Alpha { tau: 0.01 }.discretize(0.001).expect("filter");
    b.op(OpKind::Filter { filter, src: s, dst: s });
    b.probe(s, 1);
    check(&b.0, 50, 2, &[random(&[2, 50, 5], -1.0, 1.0, 7)]);
}

fn un(f: Fn1, a: FExpr) -> FExpr {
    FExpr::Unary(f, Box::new(a))
}
fn bin(op: Fn2, a: FExpr, b: FExpr) -> FExpr {
    FExpr::Binary(op, Box::new(a), Box::new(b))
}

#[test]
fn node_functions_every_construct() {
    let mut b = B::new();
    let x = b.input(3);
    let xv = || FExpr::Input;
    let t = || FExpr::Time;
    let c = |v: Vec<f64>| FExpr::Const(v);
    let mut parts: Vec<FExpr> = [
        Fn1::Sin,
        Fn1::Cos,
        Fn1::Tan,
        Fn1::Atan,
        Fn1::Sinh,
        Fn1::Cosh,
        Fn1::Tanh,
        Fn1::Exp,
        Fn1::Expm1,
        Fn1::Abs,
        Fn1::Sign,
        Fn1::Floor,
        Fn1::Ceil,
        Fn1::Round,
        Fn1::Neg,
        Fn1::Not,
    ]
    .into_iter()
    .map(|f| un(f, bin(Fn2::Mul, xv(), c(vec![3.0]))))
    .collect();
    for f in [Fn1::Asin, Fn1::Acos, Fn1::Log, Fn1::Log1p, Fn1::Sqrt] {
        parts.push(un(f, xv()));
    }
    for op in [
        Fn2::Add,
        Fn2::Sub,
        Fn2::Mul,
        Fn2::Div,
        Fn2::Pow,
        Fn2::Lt,
        Fn2::Le,
        Fn2::Gt,
        Fn2::Ge,
        Fn2::Eq,
        Fn2::Ne,
        Fn2::And,
        Fn2::Or,
    ] {
        parts.push(bin(op, xv(), c(vec![0.5, 0.0, f64::NAN])));
        parts.push(bin(op, t(), xv()));
    }
    parts.push(FExpr::Atan2(Box::new(xv()), Box::new(t())));
    parts.push(FExpr::Where(Box::new(xv()), Box::new(t()), Box::new(c(vec![1.0, 2.0, 3.0]))));
    for r in [Reduce::Sum, Reduce::Prod, Reduce::Mean, Reduce::Norm, Reduce::Min, Reduce::Max] {
        parts.push(FExpr::Reduce(r, Box::new(xv())));
        parts.push(FExpr::Reduce(r, Box::new(c(vec![]))));
    }
    parts.push(FExpr::Gather(Box::new(xv()), vec![2, 0, 7]));
    let body = FExpr::Concat(parts);
    let size_out = {
        let f = FnExpr { body: body.clone(), size_in: 3, size_out: 0 };
        f.eval(0.1, &[0.1, 0.2, 0.3]).len()
    };
    let f = FnExpr { body, size_in: 3, size_out };
    let y = b.sig(size_out);
    b.op(OpKind::NodeFn { f, input: Some(x), dst: y });
    // a scalar broadcast to the output size, and a function of time only
    let z = b.sig(4);
    let f = FnExpr { body: un(Fn1::Sin, t()), size_in: 0, size_out: 4 };
    b.op(OpKind::NodeFn { f, input: None, dst: z });
    // too large to unroll: runs on the host
    let big = b.sig(5000);
    let f = FnExpr {
        body: bin(Fn2::Mul, c((0..5000).map(f64::from).collect()), t()),
        size_in: 0,
        size_out: 5000,
    };
    b.op(OpKind::NodeFn { f, input: None, dst: big });
    b.probe(y, 1);
    b.probe(z, 1);
    b.probe(big, 7);
    let mut data = random(&[2, 30, 3], -1.2, 1.2, 8);
    data[[0, 3, 1]] = 0.0;
    data[[1, 4, 2]] = f64::NAN;
    check(&b.0, 30, 2, &[data]);
}

#[test]
fn processes_and_host_functions() {
    let mut b = B::new();
    let noise = b.sig(6);
    b.op(OpKind::Process {
        spec: ProcessSpec::WhiteNoise { mean: 0.1, std: 0.5, scale: true, seed: None },
        dst: noise,
        seed: 11,
    });
    let signal = b.sig(2);
    b.op(OpKind::Process {
        spec: ProcessSpec::WhiteSignal {
            period: 0.5,
            high: 10.0,
            rms: 0.5,
            y0: None,
            seed: Some(3),
        },
        dst: signal,
        seed: 12,
    });
    let soft = b.sig(6);
    b.op(OpKind::HostFn {
        op: HostOp::Softmax { shape: vec![2, 3], axis: 1 },
        input: noise,
        dst: soft,
    });
    // a host function reading the signal it writes
    let e = b.sig_init(6, vec![-1.0, -0.5, 0.0, 0.5, 1.0, 2.0]);
    b.op(OpKind::HostFn { op: HostOp::Elu { alpha: 0.7 }, input: e, dst: e });
    b.probe(noise, 1);
    b.probe(signal, 1);
    b.probe(soft, 1);
    b.probe(e, 1);
    check(&b.0, 40, 3, &[]);
}

#[test]
fn errors_not_panics() {
    let mut b = B::new();
    let x = b.sig(3);
    let y = b.sig(2);
    b.op(OpKind::Copy { src: x, dst: y, src_sel: Some(vec![5]), dst_sel: None, inc: false });
    assert!(matches!(jit_compile(&b.0, Precision::F64), Err(super::JitError::Invalid(_))));
    let mut b = B::new();
    let x = b.input(3);
    b.probe(x, 1);
    let c = jit_compile(&b.0, Precision::F64).expect("compiles");
    // wrong batch, wrong per-step length, missing input
    assert!(c.run(2, 2, &[random(&[3, 3], 0.0, 1.0, 1)], 1, &mut |_| {}).is_err());
    assert!(c.run(5, 1, &[random(&[1, 4, 3], 0.0, 1.0, 1)], 1, &mut |_| {}).is_err());
    assert!(c.run(5, 1, &[], 1, &mut |_| {}).is_err());
    // zero steps: empty probes
    let out = c.run(0, 2, &[random(&[2, 3], 0.0, 1.0, 1)], 1, &mut |_| {}).expect("runs");
    assert_eq!(out[0].shape(), &[2, 0, 3]);
}

/// Every neuron type's generated kernel is in its own file beside the runtime's
/// (`compiler/jit/src/neurons/<type>.rs` for `runtime/src/neurons/<type>.rs`), and every
/// generated file has its runtime kernel. The stochastic wrappers generate only their base (their
/// spike draws are the runtime's, on the host).
#[test]
fn neuron_files_pair_with_the_runtime() {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let stems = |dir: std::path::PathBuf| -> std::collections::BTreeSet<String> {
        std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .filter_map(|e| {
                e.file_name().to_str().and_then(|n| n.strip_suffix(".rs")).map(String::from)
            })
            .collect()
    };
    let not_types = ["mod", "state", "table", "generic", "derivative"];
    let host_only = ["stochastic_spiking", "poisson_spiking"];
    let runtime: std::collections::BTreeSet<String> = stems(here.join("../../runtime/src/neurons"))
        .into_iter()
        .filter(|s| !not_types.contains(&s.as_str()) && !host_only.contains(&s.as_str()))
        .collect();
    let jit: std::collections::BTreeSet<String> =
        stems(here.join("src/neurons")).into_iter().filter(|s| s != "mod").collect();
    assert!(runtime.len() >= 12, "the runtime's neuron files: {runtime:?}");
    assert_eq!(jit, runtime, "generated neuron kernels pair with the runtime's, file by file");
}
