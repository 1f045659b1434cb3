//! Synapses as linear filters, discretised exactly as Nengo 3.2 does: transfer function →
//! controllable canonical state space (`tf2ss`) → zero-order hold (`cont2discrete`, with the
//! Al-Mohy–Higham matrix exponential), stepped by the variant Nengo picks (NoX / OneX / NoD /
//! General).
//!
//! Scheduling (the caller's job): Nengo builds every synapse as an *update*-phase operator. At
//! step `k` the filter reads its input as computed in step `k`, but what readers of its output
//! see during step `k` is the value written in step `k - 1`; probes record after the step and so
//! also see the value of step `k - 1`. Every synapse therefore adds exactly one step of delay.
//! `Lowpass(0)` discretises to the pure passthrough `y = u` (NoX), which in the update phase is
//! a pure one-step delay `[0, u0, u1, ...]`. `synapse = None` is not a filter at all: the caller
//! copies the value within the same step.
//!
//! In code, per step: every reader uses the synapse's output signal as it stands (last step's
//! value, 0 at the start); after all reads, the update phase calls
//! [`FilterState::step`] on this step's input and stores the result as the new output signal.
//! `tests/synapses.rs` (`run_update_phase`) does exactly this and matches `nengo.Simulator`.
//!
//! Float32 filters agree with float64 within `1e-5` absolute for unit-scale inputs.

use nalgebra::DMatrix;
use ndarray::{Array1, Array2, ArrayView2};
use num_traits::Float;
use serde::{Deserialize, Serialize};

/// What can go wrong when building a filter.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum SynapseError {
    /// A time constant that is negative or not finite.
    #[error("synapse time constant must be finite and >= 0, got {0}")]
    BadTau(f64),
    /// A non-finite coefficient in a transfer function.
    #[error("transfer function coefficients must be finite ({which} = {values:?})")]
    NonFinite {
        /// `"num"` or `"den"`.
        which: &'static str,
        /// The coefficients given.
        values: Vec<f64>,
    },
    /// A denominator that is empty or all zeros.
    #[error("transfer function denominator must have a non-zero coefficient (den = {0:?})")]
    ZeroDenominator(Vec<f64>),
    /// An improper transfer function (more zeros than poles).
    #[error("improper transfer function: numerator {num:?} is longer than denominator {den:?}")]
    Improper {
        /// Numerator after normalisation.
        num: Vec<f64>,
        /// Denominator after normalisation.
        den: Vec<f64>,
    },
    /// A time step that is not positive and finite.
    #[error("time step must be finite and > 0, got {0}")]
    BadDt(f64),
    /// The discretisation failed numerically (singular Padé denominator).
    #[error("could not discretise the filter: {0}")]
    Numeric(&'static str),
}

/// A synapse model (`synapse = None` is handled by callers as a same-step copy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Synapse {
    /// First-order lowpass `1 / (tau s + 1)`; `tau = 0` is a passthrough (one-step delay).
    Lowpass {
        /// Time constant (s).
        tau: f64,
    },
    /// Alpha function `1 / (tau s + 1)^2`.
    Alpha {
        /// Time constant (s).
        tau: f64,
    },
    /// A general continuous-time transfer function `num(s) / den(s)` (highest power first).
    LinearFilter {
        /// Numerator coefficients.
        num: Vec<f64>,
        /// Denominator coefficients.
        den: Vec<f64>,
    },
}

impl Synapse {
    /// Nengo's default connection synapse, `Lowpass(0.005)`.
    pub const CONNECTION_DEFAULT: Synapse = Synapse::Lowpass { tau: 0.005 };

    /// Numerator and denominator as Nengo writes them (`Lowpass` = `[1] / [tau, 1]`,
    /// `Alpha` = `[1] / [tau², 2 tau, 1]`).
    pub fn num_den(&self) -> (Vec<f64>, Vec<f64>) {
        match self {
            Self::Lowpass { tau } => (vec![1.0], vec![*tau, 1.0]),
            Self::Alpha { tau } => (vec![1.0], vec![tau.powi(2), 2.0 * tau, 1.0]),
            Self::LinearFilter { num, den } => (num.clone(), den.clone()),
        }
    }

    /// Checks the parameters without a time step (what a compiler can check statically).
    pub fn validate(&self) -> Result<(), SynapseError> {
        match self {
            Self::Lowpass { tau } | Self::Alpha { tau } => {
                if !(tau.is_finite() && *tau >= 0.0) {
                    return Err(SynapseError::BadTau(*tau));
                }
            }
            Self::LinearFilter { .. } => {}
        }
        let (num, den) = self.num_den();
        tf2ss(&num, &den).map(|_| ())
    }

    /// The discrete filter for time step `dt` (Nengo's `LinearFilter._get_ss` + step choice).
    pub fn discretize(&self, dt: f64) -> Result<DiscreteFilter, SynapseError> {
        if !(dt.is_finite() && dt > 0.0) {
            return Err(SynapseError::BadDt(dt));
        }
        self.validate()?;
        let (num, den) = self.num_den();
        let ss = tf2ss(&num, &den)?;
        let ss = if ss.order() > 0 { cont2discrete_zoh(&ss, dt)? } else { ss };
        Ok(DiscreteFilter::from_state_space(ss))
    }
}

/// A single-input single-output state-space system `x' = A x + B u`, `y = C x + D u`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateSpace {
    /// `A`, shape `(order, order)`.
    pub a: Array2<f64>,
    /// `B` (a column), length `order`.
    pub b: Array1<f64>,
    /// `C` (a row), length `order`.
    pub c: Array1<f64>,
    /// `D`, the passthrough.
    pub d: f64,
}

impl StateSpace {
    /// Number of state variables.
    pub fn order(&self) -> usize {
        self.b.len()
    }
}

/// NumPy's `allclose(0, x, atol=1e-14)` for one value.
fn near_zero(x: f64) -> bool {
    x.abs() <= 1e-14 + 1e-5 * x.abs()
}

/// Transfer function → controllable canonical state space, as SciPy/Nengo's `tf2ss` (leading
/// zeros of `den` and near-zero leading coefficients of `num` are stripped, both are divided
/// by the leading coefficient of `den`).
pub fn tf2ss(num: &[f64], den: &[f64]) -> Result<StateSpace, SynapseError> {
    if num.iter().any(|x| !x.is_finite()) {
        return Err(SynapseError::NonFinite { which: "num", values: num.to_vec() });
    }
    if den.iter().any(|x| !x.is_finite()) {
        return Err(SynapseError::NonFinite { which: "den", values: den.to_vec() });
    }
    let first = den
        .iter()
        .position(|&x| x != 0.0)
        .ok_or_else(|| SynapseError::ZeroDenominator(den.to_vec()))?;
    let den = &den[first..];
    let lead = den[0];
    let den: Vec<f64> = den.iter().map(|&x| x * 1.0 / lead).collect();
    let mut num: Vec<f64> = num.iter().map(|&x| x * 1.0 / lead).collect();
    while num.len() > 1 && near_zero(num[0]) {
        num.remove(0);
    }
    let (m, k) = (num.len(), den.len());
    if m > k {
        return Err(SynapseError::Improper { num, den });
    }
    if m == 0 {
        return Ok(StateSpace {
            a: Array2::zeros((0, 0)),
            b: Array1::zeros(0),
            c: Array1::zeros(0),
            d: 0.0,
        });
    }
    let mut padded = vec![0.0; k - m];
    padded.extend_from_slice(&num);
    let d = padded[0];
    let order = k - 1;
    let mut a = Array2::zeros((order, order));
    for j in 0..order {
        a[(0, j)] = -den[j + 1];
    }
    for i in 1..order {
        a[(i, i - 1)] = 1.0;
    }
    let mut b = Array1::zeros(order);
    if order > 0 {
        b[0] = 1.0;
    }
    let c = Array1::from_iter((0..order).map(|j| padded[j + 1] - padded[0] * den[j + 1]));
    Ok(StateSpace { a, b, c, d })
}

/// Zero-order-hold discretisation with time step `dt`: `expm(dt [[A, B], [0, 0]])` gives
/// `Ad` and `Bd`; `C` and `D` are unchanged.
pub fn cont2discrete_zoh(ss: &StateSpace, dt: f64) -> Result<StateSpace, SynapseError> {
    let n = ss.order();
    let mut em = DMatrix::zeros(n + 1, n + 1);
    for i in 0..n {
        for j in 0..n {
            em[(i, j)] = dt * ss.a[(i, j)];
        }
        em[(i, n)] = dt * ss.b[i];
    }
    let ms = expm(&em)?;
    let a = Array2::from_shape_fn((n, n), |(i, j)| ms[(i, j)]);
    let b = Array1::from_iter((0..n).map(|i| ms[(i, n)]));
    Ok(StateSpace { a, b, c: ss.c.clone(), d: ss.d })
}

/// Matrix exponential by scaling and squaring with Padé approximants of order 3–13, choosing
/// the order and scaling as SciPy's `expm` (Al-Mohy & Higham 2009, exact 1-norms), including
/// the explicit diagonal/superdiagonal recomputation for upper-triangular matrices.
pub fn expm(a: &DMatrix<f64>) -> Result<DMatrix<f64>, SynapseError> {
    let n = a.nrows();
    if n != a.ncols() {
        return Err(SynapseError::Numeric("expm needs a square matrix"));
    }
    if a.iter().any(|x| !x.is_finite()) {
        return Err(SynapseError::Numeric("expm of a matrix with non-finite entries"));
    }
    if n == 0 {
        return Ok(a.clone());
    }
    if n == 1 {
        return Ok(DMatrix::from_element(1, 1, a[(0, 0)].exp()));
    }
    let upper = (0..n).all(|i| (0..i).all(|j| a[(i, j)] == 0.0));
    let ident = DMatrix::<f64>::identity(n, n);
    let a2 = a * a;
    let a4 = &a2 * &a2;
    let a6 = &a4 * &a2;
    let d4 = one_norm(&a4).powf(1.0 / 4.0);
    let d6 = one_norm(&a6).powf(1.0 / 6.0);

    let eta_1 = d4.max(d6);
    if eta_1 < 1.495585217958292e-2 && ell(a, 3) == 0 {
        let b = [120.0, 60.0, 12.0, 1.0];
        let u = a * (&a2 * b[3] + &ident * b[1]);
        let v = &a2 * b[2] + &ident * b[0];
        return solve_p_q(&u, &v);
    }
    let eta_2 = d4.max(d6);
    if eta_2 < 2.539_398_330_063_23e-1 && ell(a, 5) == 0 {
        let b = [30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0];
        let u = a * (&a4 * b[5] + &a2 * b[3] + &ident * b[1]);
        let v = &a4 * b[4] + &a2 * b[2] + &ident * b[0];
        return solve_p_q(&u, &v);
    }
    let a8 = &a6 * &a2;
    let d8 = one_norm(&a8).powf(1.0 / 8.0);
    let eta_3 = d6.max(d8);
    if eta_3 < 9.504178996162932e-1 && ell(a, 7) == 0 {
        let b = [17297280.0, 8648640.0, 1995840.0, 277200.0, 25200.0, 1512.0, 56.0, 1.0];
        let u = a * (&a6 * b[7] + &a4 * b[5] + &a2 * b[3] + &ident * b[1]);
        let v = &a6 * b[6] + &a4 * b[4] + &a2 * b[2] + &ident * b[0];
        return solve_p_q(&u, &v);
    }
    if eta_3 < 2.097847961257068e0 && ell(a, 9) == 0 {
        let b = [
            17643225600.0,
            8821612800.0,
            2075673600.0,
            302702400.0,
            30270240.0,
            2162160.0,
            110880.0,
            3960.0,
            90.0,
            1.0,
        ];
        let u = a * (&a8 * b[9] + &a6 * b[7] + &a4 * b[5] + &a2 * b[3] + &ident * b[1]);
        let v = &a8 * b[8] + &a6 * b[6] + &a4 * b[4] + &a2 * b[2] + &ident * b[0];
        return solve_p_q(&u, &v);
    }
    let a10 = &a4 * &a6;
    let d10 = one_norm(&a10).powf(1.0 / 10.0);
    let eta_4 = d8.max(d10);
    let eta_5 = eta_3.min(eta_4);
    let theta_13 = 4.25;
    let mut s = if eta_5 > 0.0 { (eta_5 / theta_13).log2().ceil().max(0.0) as i32 } else { 0 };
    s += ell(&(a * 2f64.powi(-s)), 13);
    let b = [
        64764752532480000.0,
        32382376266240000.0,
        7771770303897600.0,
        1187353796428800.0,
        129060195264000.0,
        10559470521600.0,
        670442572800.0,
        33522128640.0,
        1323241920.0,
        40840800.0,
        960960.0,
        16380.0,
        182.0,
        1.0,
    ];
    let sb = a * 2f64.powi(-s);
    let sb2 = &a2 * 2f64.powi(-2 * s);
    let sb4 = &a4 * 2f64.powi(-4 * s);
    let sb6 = &a6 * 2f64.powi(-6 * s);
    let u2 = &sb6 * (&sb6 * b[13] + &sb4 * b[11] + &sb2 * b[9]);
    let u = &sb * (u2 + &sb6 * b[7] + &sb4 * b[5] + &sb2 * b[3] + &ident * b[1]);
    let v2 = &sb6 * (&sb6 * b[12] + &sb4 * b[10] + &sb2 * b[8]);
    let v = v2 + &sb6 * b[6] + &sb4 * b[4] + &sb2 * b[2] + &ident * b[0];
    let mut x = solve_p_q(&u, &v)?;
    if upper {
        x = fragment_2_1(x, a, s);
    } else {
        for _ in 0..s {
            x = &x * &x;
        }
    }
    Ok(x)
}

/// Solves `(V - U) X = (U + V)` for the Padé approximant.
fn solve_p_q(u: &DMatrix<f64>, v: &DMatrix<f64>) -> Result<DMatrix<f64>, SynapseError> {
    let p = u + v;
    let q = v - u;
    q.lu().solve(&p).ok_or(SynapseError::Numeric("singular Padé denominator"))
}

/// Largest absolute column sum.
fn one_norm(m: &DMatrix<f64>) -> f64 {
    m.column_iter().map(|c| c.iter().map(|x| x.abs()).sum::<f64>()).fold(0.0, f64::max)
}

/// Extra squarings needed for backward-error bound at Padé order `m` (SciPy's `_ell`).
fn ell(a: &DMatrix<f64>, m: i32) -> i32 {
    let p = 2 * m + 1;
    let abs_a = a.map(f64::abs);
    // 1-norm of |A|^p, computed as max((|A|^T)^p 1).
    let mut v = nalgebra::DVector::from_element(a.nrows(), 1.0);
    let abs_t = abs_a.transpose();
    for _ in 0..p {
        v = &abs_t * v;
    }
    let abs_norm = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if abs_norm == 0.0 {
        return 0;
    }
    // |c_{2m+1}|^-1 = binom(2p, p) (2p + 1)!
    let p_u = p as u64;
    let mut choose = 1.0f64;
    for j in 1..=p_u {
        choose = choose * (2 * p_u + 1 - j) as f64 / j as f64;
    }
    let choose = choose.round();
    let factorial: f64 = (1..=(2 * p_u + 1)).map(|k| k as f64).product();
    let abs_c_recip = choose * factorial;
    let u = 2f64.powi(-53);
    let alpha = abs_norm / (one_norm(a) * abs_c_recip);
    let value = ((alpha / u).log2() / (2 * m) as f64).ceil();
    if value > 0.0 {
        value as i32
    } else {
        0
    }
}

/// `(exp(l2) − exp(l1)) / (l2 − l1)`, or `exp(l1)` when they are equal: Higham's (10.42) as
/// SciPy ≥ 1.9 evaluates it (`_exp_sinch`; the older `exp(mean) · sinh(half) / half` form
/// overflows to NaN once `|l1 − l2|` passes about 1400, e.g. a lowpass with τ ≪ dt).
fn exp_sinch(l1: f64, l2: f64) -> f64 {
    if l2 == l1 {
        l1.exp()
    } else {
        (l2.exp() - l1.exp()) / (l2 - l1)
    }
}

/// Squaring phase for upper-triangular matrices: recompute the diagonal and first
/// superdiagonal exactly at each stage (Higham's Code Fragment 2.1).
fn fragment_2_1(mut x: DMatrix<f64>, t: &DMatrix<f64>, s: i32) -> DMatrix<f64> {
    let n = x.nrows();
    let diag: Vec<f64> = (0..n).map(|k| t[(k, k)]).collect();
    let scale = 2f64.powi(-s);
    for k in 0..n {
        x[(k, k)] = (scale * diag[k]).exp();
    }
    for i in (0..s).rev() {
        x = &x * &x;
        let scale = 2f64.powi(-i);
        for k in 0..n {
            x[(k, k)] = (scale * diag[k]).exp();
        }
        for k in 0..n.saturating_sub(1) {
            let lam_1 = scale * diag[k];
            let lam_2 = scale * diag[k + 1];
            let t_12 = scale * t[(k, k + 1)];
            x[(k, k + 1)] = exp_sinch(lam_1, lam_2) * t_12;
        }
    }
    x
}

/// Which update Nengo uses for a discrete system (same arithmetic as its `Step` classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FilterKind {
    /// No state: `y = d u`.
    NoX,
    /// One state, no passthrough: `x = a x + (c b) u; y = x`.
    OneX,
    /// No passthrough: `x = A x + B u; y = C x` (input advanced one step, no extra delay).
    NoD,
    /// General: `y = C x + D u; x = A x + B u`.
    General,
}

/// A discrete-time SISO filter, applied independently to each signal element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscreteFilter {
    /// `A`, shape `(order, order)`.
    pub a: Array2<f64>,
    /// `B`, length `order`.
    pub b: Array1<f64>,
    /// `C`, length `order`.
    pub c: Array1<f64>,
    /// Passthrough `D`.
    pub d: f64,
    /// The update variant, chosen as Nengo does.
    pub kind: FilterKind,
}

impl DiscreteFilter {
    /// Wraps a discrete state-space system and picks the step variant.
    pub fn from_state_space(ss: StateSpace) -> Self {
        let order = ss.order();
        let kind = if order == 0 {
            FilterKind::NoX
        } else if ss.d == 0.0 && order == 1 {
            FilterKind::OneX
        } else if ss.d == 0.0 {
            FilterKind::NoD
        } else {
            FilterKind::General
        };
        Self { a: ss.a, b: ss.b, c: ss.c, d: ss.d, kind }
    }

    /// Number of state variables per signal element.
    pub fn order(&self) -> usize {
        self.b.len()
    }

    /// A zeroed state for `n` signal elements.
    pub fn new_state<T: Float>(&self, n: usize) -> FilterState<T> {
        FilterState { filter: self.clone(), n, x: vec![T::zero(); self.order() * n] }
    }

    /// One step for `input.len()` elements; `x` holds the state, `x[i * n + s]` being state
    /// variable `i` of element `s` (`n = input.len()`, `x.len() = order * n`).
    pub fn step<T: Float>(&self, x: &mut [T], input: &[T], output: &mut [T]) {
        let n = input.len();
        debug_assert!(x.len() >= self.order() * n, "filter state too short for {n} elements");
        if x.len() < self.order() * n {
            return;
        }
        let lit = |v: f64| T::from(v).unwrap_or_else(T::nan);
        match self.kind {
            FilterKind::NoX => {
                let d = lit(self.d);
                for (y, &u) in output.iter_mut().zip(input) {
                    *y = d * u;
                }
            }
            FilterKind::OneX => {
                let a = lit(self.a[(0, 0)]);
                let b = lit(self.c[0] * self.b[0]);
                for ((y, &u), xs) in output.iter_mut().zip(input).zip(x.iter_mut()) {
                    *xs = a * *xs + b * u;
                    *y = *xs;
                }
            }
            FilterKind::NoD => {
                let (mut stack, mut heap) = ([T::zero(); 8], Vec::new());
                let col = scratch(self.order(), &mut stack, &mut heap);
                for s in 0..n.min(output.len()) {
                    self.advance(x, n, s, input[s], col);
                    output[s] = self.read(x, n, s, &lit);
                }
            }
            FilterKind::General => {
                let (mut stack, mut heap) = ([T::zero(); 8], Vec::new());
                let col = scratch(self.order(), &mut stack, &mut heap);
                let d = lit(self.d);
                for s in 0..n.min(output.len()) {
                    let y = self.read(x, n, s, &lit) + d * input[s];
                    self.advance(x, n, s, input[s], col);
                    output[s] = y;
                }
            }
        }
    }

    /// `C x` for element `s`.
    fn read<T: Float>(&self, x: &[T], n: usize, s: usize, lit: &impl Fn(f64) -> T) -> T {
        let mut y = T::zero();
        for (i, &c) in self.c.iter().enumerate() {
            y = y + lit(c) * x[i * n + s];
        }
        y
    }

    /// `x = A x + B u` for element `s` (`col` is scratch space of length `order`).
    fn advance<T: Float>(&self, x: &mut [T], n: usize, s: usize, u: T, col: &mut [T]) {
        let lit = |v: f64| T::from(v).unwrap_or_else(T::nan);
        let order = self.order();
        for (i, slot) in col.iter_mut().enumerate() {
            let mut acc = T::zero();
            for k in 0..order {
                acc = acc + lit(self.a[(i, k)]) * x[k * n + s];
            }
            *slot = acc + lit(self.b[i]) * u;
        }
        for (i, &v) in col.iter().enumerate() {
            x[i * n + s] = v;
        }
    }

    /// Filters a whole signal `(steps, n)` from a zero state, like Nengo's `Synapse.filt`
    /// (output `k` is the step function's result for input `k`: no scheduling delay).
    pub fn filt(&self, signal: ArrayView2<f64>) -> Array2<f64> {
        let (steps, n) = signal.dim();
        let mut state = self.new_state::<f64>(n);
        let mut out = Array2::zeros((steps, n));
        let mut input = vec![0.0; n];
        let mut output = vec![0.0; n];
        for k in 0..steps {
            for (dst, &src) in input.iter_mut().zip(signal.row(k)) {
                *dst = src;
            }
            state.step(&input, &mut output);
            for (dst, &src) in out.row_mut(k).iter_mut().zip(&output) {
                *dst = src;
            }
        }
        out
    }

    /// The filter's response to a unit impulse at step 0 over `steps` steps (a quick way to
    /// inspect or print a filter).
    pub fn impulse_response(&self, steps: usize) -> Vec<f64> {
        let mut signal = Array2::zeros((steps, 1));
        if steps > 0 {
            signal[(0, 0)] = 1.0;
        }
        self.filt(signal.view()).column(0).to_vec()
    }
}

/// Scratch space of `len` values: on the stack for filters up to order 8.
fn scratch<'a, T: Float>(len: usize, stack: &'a mut [T; 8], heap: &'a mut Vec<T>) -> &'a mut [T] {
    if len <= stack.len() {
        &mut stack[..len]
    } else {
        heap.resize(len, T::zero());
        heap
    }
}

/// A filter with its state for `n` signal elements.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterState<T = f64> {
    filter: DiscreteFilter,
    n: usize,
    x: Vec<T>,
}

impl<T: Float> FilterState<T> {
    /// Filters one step: reads `input` (length `n`), sets `output`.
    pub fn step(&mut self, input: &[T], output: &mut [T]) {
        debug_assert_eq!(input.len(), self.n, "filter state made for another signal size");
        self.filter.step(&mut self.x, input, output);
    }

    /// Number of signal elements.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the state covers no elements.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The filter being applied.
    pub fn filter(&self) -> &DiscreteFilter {
        &self.filter
    }

    /// The state variables, `x[i * n + s]` for state `i` of element `s`.
    pub fn x(&self) -> &[T] {
        &self.x
    }

    /// Sets every state variable back to 0.
    pub fn reset(&mut self) {
        self.x.iter_mut().for_each(|v| *v = T::zero());
    }
}
