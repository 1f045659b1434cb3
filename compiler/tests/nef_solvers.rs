//! Decoder solvers and connection-weight building against Nengo 3.2 oracles (fixtures from
//! tools/gen_nef_fixtures.py): LstsqL2 primal and dual Cholesky forms, LstsqL2nz, Lstsq, and
//! whole decoded connections (function, transform, slices, weight solvers) from real builds.

use std::fs::File;
use std::path::PathBuf;

use ndarray::{array, s, Array0, Array1, Array2};
use ndarray_npy::NpzReader;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use snn_compiler::nef::solvers::{cholesky_lstsq, Sigma};
use snn_compiler::nef::{
    decoder_targets, normalize_encoders, scaled_encoders, solve_decoders, try_decoder_targets,
    NefError, Solver, Transform,
};

struct Npz(NpzReader<File>);

impl Npz {
    fn open(name: &str) -> Self {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nef").join(name);
        let file = File::open(&path).expect("fixture file (run tools/gen_nef_fixtures.py)");
        Npz(NpzReader::new(file).expect("npz"))
    }
    fn a2(&mut self, key: &str) -> Array2<f64> {
        self.0.by_name(key).expect(key)
    }
    fn a1(&mut self, key: &str) -> Array1<f64> {
        self.0.by_name(key).expect(key)
    }
    fn f(&mut self, key: &str) -> f64 {
        let a: Array0<f64> = self.0.by_name(key).expect(key);
        a.into_scalar()
    }
}

/// max |got - want| / max |want|
fn rel_err<'a>(
    got: impl IntoIterator<Item = &'a f64>,
    want: impl IntoIterator<Item = &'a f64> + Clone,
) -> f64 {
    let scale = want.clone().into_iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let diff = got.into_iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0_f64, f64::max);
    diff / scale
}

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(0)
}

#[test]
fn lstsq_l2_matches_nengo_primal_and_dual() {
    let mut z = Npz::open("lstsq.npz");
    for name in ["primal", "dual", "primal_lowreg", "dual_highreg", "square"] {
        let key = format!("l2_{name}");
        let a = z.a2(&format!("{key}_A"));
        let y = z.a2(&format!("{key}_Y"));
        let reg = z.f(&format!("{key}_reg"));
        let want = z.a2(&format!("{key}_X"));
        let want_rmses = z.a1(&format!("{key}_rmses"));
        let solver = Solver::LstsqL2 { reg, weights: false };
        let (x, info) = solver.solve(a.view(), y.view(), &mut rng()).expect("solve");
        assert_eq!(x.dim(), (a.ncols(), y.ncols()));
        let e = rel_err(&x, &want);
        let er = rel_err(&info.rmses, &want_rmses);
        eprintln!("{key} ({}x{}): decoders {e:e}, rmses {er:e}", a.nrows(), a.ncols());
        assert!(e < 1e-9, "{key}: decoders relative error {e:e}");
        assert!(er < 1e-9, "{key}: rmses relative error {er:e}");
    }
}

#[test]
fn dual_and_primal_forms_agree() {
    // the same ridge problem solved both ways gives the same decoders
    let mut z = Npz::open("lstsq.npz");
    for name in ["dual", "primal"] {
        let a = z.a2(&format!("l2_{name}_A"));
        let y = z.a2(&format!("l2_{name}_Y"));
        let sigma = Sigma::Scalar(0.1 * a.iter().copied().fold(0.0, f64::max));
        let (x1, _) = cholesky_lstsq(a.view(), y.view(), &sigma, Some(true)).expect("dual");
        let (x2, _) = cholesky_lstsq(a.view(), y.view(), &sigma, Some(false)).expect("primal");
        let e = rel_err(&x1, &x2);
        assert!(e < 1e-8, "{name}: dual vs primal {e:e}");
    }
}

#[test]
fn lstsq_l2nz_and_lstsq_match_nengo() {
    let mut z = Npz::open("lstsq.npz");
    for (key, solver) in [
        ("l2nz", Solver::LstsqL2nz { reg: 0.1, weights: false }),
        ("l2nz_dual", Solver::LstsqL2nz { reg: 0.1, weights: false }),
        ("lstsq", Solver::Lstsq { rcond: 0.01, weights: false }),
        ("lstsq_under", Solver::Lstsq { rcond: 0.01, weights: false }),
    ] {
        let a = z.a2(&format!("{key}_A"));
        let y = z.a2(&format!("{key}_Y"));
        let want = z.a2(&format!("{key}_X"));
        let want_rmses = z.a1(&format!("{key}_rmses"));
        let (x, info) = solver.solve(a.view(), y.view(), &mut rng()).expect("solve");
        let e = rel_err(&x, &want);
        let er = rel_err(&info.rmses, &want_rmses);
        eprintln!("{key}: decoders {e:e}, rmses {er:e}");
        assert!(e < 1e-9, "{key}: decoders relative error {e:e}");
        assert!(er < 1e-9, "{key}: rmses relative error {er:e}");
    }
}

#[test]
fn decoded_connection_weights_match_nengo_builds() {
    let mut z = Npz::open("connections.npz");
    let ep = z.a2("sq_eval_points");
    let acts = z.a2("sq_activities");
    let radius = z.f("sq_radius");

    // the encoders helpers reproduce the built ensemble
    let enc = z.a2("sq_encoders");
    let gain = z.a1("sq_gain");
    let scaled = scaled_encoders(enc.view(), gain.view(), radius).expect("scaled");
    assert!(rel_err(&scaled, &z.a2("sq_scaled_encoders")) < 1e-15);
    let renorm = normalize_encoders(enc.view()).expect("normalise");
    assert!(rel_err(&renorm, &enc) < 1e-15);

    // a -> b, function x**2, transform [[2], [-1]]
    let square = |x: &[f64]| vec![x[0] * x[0]];
    let targets = decoder_targets(ep.view(), None, Some(&square)).expect("targets");
    let res = solve_decoders(
        acts.view(),
        targets.view(),
        &Solver::default(),
        &Transform::Dense(z.a2("sq_transform")),
        None,
        &mut rng(),
    )
    .expect("solve");
    let want = z.a2("sq_weights");
    assert_eq!(res.weights.dim(), want.dim());
    let e = rel_err(&res.weights, &want);
    eprintln!("x**2 with transform: {e:e}");
    assert!(e < 1e-9, "weights relative error {e:e}");

    // a -> b[0], identity function, no transform
    let targets = decoder_targets(ep.view(), None, None).expect("targets");
    let res = solve_decoders(
        acts.view(),
        targets.view(),
        &Solver::default(),
        &Transform::Identity,
        None,
        &mut rng(),
    )
    .expect("solve");
    let e = rel_err(&res.weights, &z.a2("id_weights"));
    assert!(e < 1e-9, "identity weights relative error {e:e}");

    // 2-D, 60 neurons, 30 eval points (dual form); product function, scalar transform 0.5,
    // weight solver into a 2-D post ensemble
    let ep = z.a2("prod_eval_points");
    let acts = z.a2("prod_activities");
    let post = z.a2("prod_post_scaled_encoders");
    let product = |x: &[f64]| vec![x[0] * x[1], x[0]];
    let targets = decoder_targets(ep.view(), None, Some(&product)).expect("targets");
    let res = solve_decoders(
        acts.view(),
        targets.view(),
        &Solver::LstsqL2 { reg: 0.05, weights: true },
        &Transform::Scalar(0.5),
        Some(post.view()),
        &mut rng(),
    )
    .expect("solve");
    let want = z.a2("prod_weights");
    assert_eq!(res.weights.dim(), want.dim());
    let e = rel_err(&res.weights, &want);
    eprintln!("product, weight solver: {e:e}");
    assert!(e < 1e-9, "weight-solver weights relative error {e:e}");

    // a[1] -> b[0] with reg 0.2: pre slice selects the eval-point column
    let targets = decoder_targets(ep.view(), Some(&[1]), None).expect("targets");
    assert_eq!(targets, ep.slice(s![.., 1..2]));
    let res = solve_decoders(
        acts.view(),
        targets.view(),
        &Solver::LstsqL2 { reg: 0.2, weights: false },
        &Transform::Identity,
        None,
        &mut rng(),
    )
    .expect("solve");
    let e = rel_err(&res.weights, &z.a2("slice_weights"));
    assert!(e < 1e-9, "sliced weights relative error {e:e}");
}

#[test]
fn transforms_fold_into_weights() {
    let acts = array![[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [3.0, 0.5]];
    let targets = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]];
    let solver = Solver::default();
    let base = solve_decoders(
        acts.view(),
        targets.view(),
        &solver,
        &Transform::Identity,
        None,
        &mut rng(),
    )
    .expect("solve");
    let dec_t = base.decoders.t().to_owned();
    assert_eq!(base.weights, dec_t);
    let diag = solve_decoders(
        acts.view(),
        targets.view(),
        &solver,
        &Transform::Diagonal(array![2.0, -3.0]),
        None,
        &mut rng(),
    )
    .expect("solve");
    assert_eq!(diag.weights.row(0), dec_t.row(0).mapv(|v| 2.0 * v));
    assert_eq!(diag.weights.row(1), dec_t.row(1).mapv(|v| -3.0 * v));
    let bad = solve_decoders(
        acts.view(),
        targets.view(),
        &solver,
        &Transform::Dense(Array2::ones((3, 3))),
        None,
        &mut rng(),
    );
    assert!(matches!(bad, Err(NefError::Shape(_))));
}

#[test]
fn solver_failures_are_typed_errors() {
    let mut r = rng();
    // all-zero activities: Nengo's "activities matrix is all zero" BuildError
    let zeros = Array2::<f64>::zeros((10, 4));
    let y = Array2::<f64>::ones((10, 1));
    let err = solve_decoders(
        zeros.view(),
        y.view(),
        &Solver::default(),
        &Transform::Identity,
        None,
        &mut r,
    );
    assert_eq!(err, Err(NefError::AllZeroActivities));
    // and the bare solver cannot factor a zero Gram matrix
    assert_eq!(
        Solver::default().solve(zeros.view(), y.view(), &mut r).map(|_| ()),
        Err(NefError::NotPositiveDefinite)
    );
    // no regularisation and a rank-deficient system: not positive definite
    let a = array![[1.0, 1.0, 2.0], [2.0, 2.0, 4.0]];
    let y2 = array![[1.0], [2.0]];
    let unreg = Solver::LstsqL2 { reg: 0.0, weights: false };
    assert_eq!(
        unreg.solve(a.view(), y2.view(), &mut r).map(|_| ()),
        Err(NefError::NotPositiveDefinite)
    );
    // shapes and values are checked
    assert!(matches!(Solver::default().solve(a.view(), y.view(), &mut r), Err(NefError::Shape(_))));
    let mut nan = a.clone();
    nan[(0, 0)] = f64::NAN;
    assert!(matches!(
        Solver::default().solve(nan.view(), y2.view(), &mut r),
        Err(NefError::NonFinite(_))
    ));
    let negative = Solver::LstsqL2 { reg: -0.1, weights: false };
    assert!(matches!(
        negative.solve(a.view(), y2.view(), &mut r),
        Err(NefError::InvalidParameter(_))
    ));
    // zero-length encoders cannot be normalised
    assert_eq!(
        normalize_encoders(array![[1.0, 0.0], [0.0, 0.0]].view()),
        Err(NefError::ZeroEncoder(1))
    );
    // decoded functions must return a consistent, finite output
    let ep = array![[0.1], [0.2], [0.3]];
    let ragged = |x: &[f64]| if x[0] > 0.15 { vec![1.0, 2.0] } else { vec![1.0] };
    assert!(matches!(decoder_targets(ep.view(), None, Some(&ragged)), Err(NefError::Function(_))));
    let failing = &mut |_: &[f64]| -> Result<Vec<f64>, String> { Err("division by zero".into()) };
    assert_eq!(
        try_decoder_targets(ep.view(), None, failing),
        Err(NefError::Function("division by zero".into()))
    );
    assert!(matches!(decoder_targets(ep.view(), Some(&[1]), None), Err(NefError::Shape(_))));
}

#[test]
fn noise_solvers_regularise_like_l2() {
    // with noise added to A the solution stays close to the regularised one
    let mut z = Npz::open("lstsq.npz");
    let a = z.a2("l2_primal_A");
    let y = z.a2("l2_primal_Y");
    let (x_l2, info_l2) = Solver::default().solve(a.view(), y.view(), &mut rng()).expect("l2");
    let (x_noise, info_noise) = Solver::LstsqNoise { noise: 0.1, weights: false }
        .solve(a.view(), y.view(), &mut rng())
        .expect("noise");
    assert_eq!(x_noise.dim(), x_l2.dim());
    for (n, l) in info_noise.rmses.iter().zip(&info_l2.rmses) {
        assert!(*n < 5.0 * l + 0.05, "noise rmse {n} vs l2 {l}");
    }
    let (_, info_mult) = Solver::LstsqMultNoise { noise: 0.1, weights: false }
        .solve(a.view(), y.view(), &mut rng())
        .expect("mult noise");
    assert!(info_mult.rmses.iter().all(|r| r.is_finite() && *r < 0.5));
}
