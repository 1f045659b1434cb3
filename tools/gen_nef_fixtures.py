"""Record NEF-numerics oracles from the real Nengo 3.2 for snn-compiler's `nef` tests.

Run with the nengodl environment (see tools/requirements-nengo.txt):

    /work/venvs/nengodl/bin/python tools/gen_nef_fixtures.py

Writes small .npz files under compiler/tests/fixtures/nef/.  Everything random in Nengo is
pinned here (a fake RNG hands out chosen offsets / rotation matrices and does not shuffle),
so the deterministic parts (R_d sequence, spherical transform, lookup table, solvers) can be
compared exactly; the random parts are compared statistically.
"""

import pathlib

import nengo
import numpy as np
import scipy
import scipy.special
from nengo.dists import (
    QuasirandomSequence,
    ScatteredHypersphere,
    UniformHypersphere,
    _betaincinv22,
)
from nengo.solvers import Lstsq, LstsqL2, LstsqL2nz
from nengo.utils.builder import default_n_eval_points

assert nengo.__version__ == "3.2.0", nengo.__version__

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "compiler" / "tests" / "fixtures" / "nef"
OUT.mkdir(parents=True, exist_ok=True)


class PinnedRng:
    """Stands in for numpy's RandomState: fixed uniform/normal draws, no shuffling."""

    def __init__(self, uniforms=(), normals=()):
        self.uniforms = list(np.ravel(uniforms))
        self.normals = list(np.ravel(normals))

    def uniform(self, low=0.0, high=1.0, size=None):
        k = int(np.prod(size))
        vals, self.uniforms = self.uniforms[:k], self.uniforms[k:]
        assert len(vals) == k, "ran out of pinned uniforms"
        return low + (high - low) * np.array(vals).reshape(size)

    def standard_normal(self, size=None):
        k = int(np.prod(size))
        vals, self.normals = self.normals[:k], self.normals[k:]
        assert len(vals) == k, "ran out of pinned normals"
        return np.array(vals).reshape(size)

    def shuffle(self, x):
        pass

    def done(self):
        assert not self.uniforms and not self.normals


def save(name, **arrays):
    path = OUT / name
    np.savez(path, **arrays)
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")


def tuning_matrix(rng, m, n, d, zero_cols=()):
    """Rectified-linear tuning curves: a realistic, non-negative activity matrix."""
    x = rng.uniform(-1, 1, size=(m, d))
    enc = rng.standard_normal((n, d))
    enc /= np.linalg.norm(enc, axis=1, keepdims=True)
    gain = rng.uniform(50, 200, size=n)
    bias = rng.uniform(-100, 150, size=n)
    a = np.maximum(0.0, x @ enc.T * gain + bias)
    for j in zero_cols:
        a[:, j] = 0.0
    return x, a


def gen_lstsq():
    rng = np.random.RandomState(7)
    out = {}
    cases = []
    # (name, m, n, d, reg): m >= n (primal) and m < n (dual) systems
    for name, m, n, d, reg in [
        ("primal", 120, 36, 2, 0.1),
        ("dual", 30, 80, 1, 0.1),
        ("primal_lowreg", 100, 20, 3, 0.01),
        ("dual_highreg", 25, 50, 2, 0.5),
        ("square", 40, 40, 1, 0.05),
    ]:
        x, a = tuning_matrix(rng, m, n, d)
        y = np.column_stack([x[:, 0] ** 2, np.sin(x.sum(axis=1)), x[:, 0] * x[:, -1]])
        y = y[:, :d]
        xs, info = LstsqL2(reg=reg)(a, y)
        out[f"l2_{name}_A"] = a
        out[f"l2_{name}_Y"] = y
        out[f"l2_{name}_reg"] = np.array(reg)
        out[f"l2_{name}_X"] = xs
        out[f"l2_{name}_rmses"] = info["rmses"]
        cases.append(f"l2_{name}")

    # LstsqL2nz: per-neuron sigma, with two never-active neurons
    x, a = tuning_matrix(rng, 90, 30, 2, zero_cols=(3, 17))
    y = np.column_stack([x[:, 0] * x[:, 1], x[:, 1]])
    xs, info = LstsqL2nz(reg=0.1)(a, y)
    out.update(l2nz_A=a, l2nz_Y=y, l2nz_reg=np.array(0.1), l2nz_X=xs, l2nz_rmses=info["rmses"])
    # m < n with L2nz: Nengo does not transpose (sigma is a vector)
    x, a = tuning_matrix(rng, 20, 35, 1)
    y = x ** 2
    xs, info = LstsqL2nz(reg=0.1)(a, y)
    out.update(
        l2nz_dual_A=a, l2nz_dual_Y=y, l2nz_dual_reg=np.array(0.1), l2nz_dual_X=xs,
        l2nz_dual_rmses=info["rmses"],
    )

    # plain Lstsq (SVD with rcond cut-off), over- and under-determined
    x, a = tuning_matrix(rng, 80, 15, 1)
    y = np.column_stack([x[:, 0] ** 2, x[:, 0]])
    xs, info = Lstsq(rcond=0.01)(a, y)
    out.update(lstsq_A=a, lstsq_Y=y, lstsq_rcond=np.array(0.01), lstsq_X=xs, lstsq_rmses=info["rmses"])
    x, a = tuning_matrix(rng, 12, 25, 1)
    y = x ** 2
    xs, info = Lstsq(rcond=0.01)(a, y)
    out.update(
        lstsq_under_A=a, lstsq_under_Y=y, lstsq_under_rcond=np.array(0.01),
        lstsq_under_X=xs, lstsq_under_rmses=info["rmses"],
    )
    save("lstsq.npz", **out)


def gen_connections():
    """Real Nengo builds: eval points + activities in, built connection weights out."""
    out = {}

    # 1-D ensemble, function x**2 through a 2x1 transform, m > n
    with nengo.Network(seed=3) as net:
        a = nengo.Ensemble(40, 1, n_eval_points=100, radius=1.5)
        b = nengo.Node(size_in=2)
        c1 = nengo.Connection(
            a, b, function=lambda x: x ** 2, transform=[[2.0], [-1.0]], synapse=None
        )
        c2 = nengo.Connection(a, b[0], synapse=None)  # identity, NoTransform
    with nengo.Simulator(net, progress_bar=False) as sim:
        pass
    ep = sim.data[a].eval_points
    x = ep @ sim.data[a].encoders.T / a.radius
    acts = a.neuron_type.rates(x, sim.data[a].gain, sim.data[a].bias)
    out.update(
        sq_eval_points=ep, sq_activities=acts, sq_radius=np.array(a.radius),
        sq_transform=np.array([[2.0], [-1.0]]), sq_weights=sim.data[c1].weights,
        id_weights=sim.data[c2].weights,
        sq_encoders=sim.data[a].encoders, sq_gain=sim.data[a].gain,
        sq_scaled_encoders=sim.data[a].scaled_encoders,
    )

    # 2-D ensemble with fewer eval points than neurons (dual form), product function,
    # scalar transform, and a weight solver into a 2-D post ensemble
    with nengo.Network(seed=5) as net:
        a = nengo.Ensemble(60, 2, n_eval_points=30)
        b = nengo.Ensemble(20, 2)
        c1 = nengo.Connection(
            a, b, function=lambda x: [x[0] * x[1], x[0]], transform=0.5,
            solver=LstsqL2(weights=True, reg=0.05),
        )
        c2 = nengo.Connection(a[1], b[0], solver=LstsqL2(reg=0.2))
    with nengo.Simulator(net, progress_bar=False) as sim:
        pass
    ep = sim.data[a].eval_points
    x = ep @ sim.data[a].encoders.T / a.radius
    acts = a.neuron_type.rates(x, sim.data[a].gain, sim.data[a].bias)
    out.update(
        prod_eval_points=ep, prod_activities=acts,
        prod_post_scaled_encoders=sim.data[b].scaled_encoders,
        prod_weights=sim.data[c1].weights, slice_weights=sim.data[c2].weights,
    )
    save("connections.npz", **out)


def gen_eval_point_counts():
    ns, ds, counts = [], [], []
    for n in [1, 10, 50, 100, 374, 375, 376, 1000, 1249, 1250, 1251, 2000, 5000]:
        for d in [1, 2, 3, 4, 5, 6, 16, 64]:
            ns.append(n)
            ds.append(d)
            counts.append(default_n_eval_points(n, d))
    save(
        "eval_point_counts.npz",
        n_neurons=np.array(ns, dtype=np.int64),
        dims=np.array(ds, dtype=np.int64),
        counts=np.array(counts, dtype=np.int64),
    )


def gen_quasirandom():
    out = {}
    out["phi_d"] = np.arange(1, 33, dtype=np.int64)
    out["phi"] = np.array([QuasirandomSequence._phi(d) for d in out["phi_d"]])
    rng = np.random.RandomState(11)
    cases = [(10, 1), (7, 1), (50, 2), (40, 3), (30, 7), (20, 16), (12, 40)]
    for n, d in cases:
        offset = rng.uniform(size=d)
        pinned = PinnedRng(uniforms=offset)
        z = QuasirandomSequence().sample(n, d, rng=pinned)
        pinned.done()
        out[f"rd_{n}x{d}_offset"] = offset
        out[f"rd_{n}x{d}_z"] = z
    save("quasirandom.npz", **out)


def gen_spherical():
    out = {}
    rng = np.random.RandomState(12)

    # the betaincinv(dims/2, 1/2, x) lookup table, probed at chosen points
    table = _betaincinv22.load_table()
    dims = np.array(sorted(table), dtype=np.int64)
    probe_dims = np.concatenate([dims, [27, 50, 90, 150, 300, 1500]]).astype(np.int64)
    probes = np.concatenate(
        [
            [0.0, 1.0, 1e-12, 1e-6, 1e-3, 0.5, 1 - 1e-9, 0.999],
            rng.uniform(size=32),
        ]
    )
    out["table_dims"] = dims
    out["lookup_dims"] = probe_dims
    out["lookup_x"] = probes
    out["lookup_y"] = np.array([_betaincinv22.lookup(int(d), probes) for d in probe_dims])

    # make_table's recipe fills each curve up to 200 nodes with RandomState(0) draws: find
    # them in Nengo's shipped table (exact matches with that stream), count the distinct
    # nodes before filling, and probe closely around the fill nodes
    stream = set(np.random.RandomState(0).uniform(size=20000).tolist())
    base_counts, fill_dims, fill_x = [], [], []
    for dim in dims:
        fills = [v for v in table[dim][0] if v in stream]
        base_counts.append(len(table[dim][0]) - len(fills))
        for f in fills:
            for p in (f, f - 1e-3, f + 1.5e-3):
                fill_dims.append(dim)
                fill_x.append(p)
    out["table_base_counts"] = np.array(base_counts, dtype=np.int64)
    out["fill_dims"] = np.array(fill_dims, dtype=np.int64)
    out["fill_x"] = np.array(fill_x)
    out["fill_y"] = np.array(
        [_betaincinv22.lookup(int(d), np.array([x]))[0] for d, x in zip(fill_dims, fill_x)]
    )

    # exact betaincinv(a, 1/2, x) and betainc for the "sct" method and CosineSimilarity
    a_vals = np.array([0.5, 1.0, 1.5, 2.5, 8.0, 20.5, 50.0, 200.0, 234.0, 429.5, 500.0])
    xs = np.concatenate(
        [[1e-300, 1e-20, 1e-8, 0.1282051282051282, 0.3, 0.5, 0.9, 1 - 1e-12], rng.uniform(size=9)]
    )
    out["beta_a"] = a_vals
    out["beta_x"] = xs
    out["betainc_b05"] = np.array([scipy.special.betainc(a, 0.5, xs) for a in a_vals])
    out["betaincinv_b05"] = np.array([scipy.special.betaincinv(a, 0.5, xs) for a in a_vals])
    ab = np.array([[0.5, 0.5], [1.0, 3.0], [2.5, 7.5], [10.0, 0.5], [0.5, 12.0], [30.0, 40.0]])
    out["beta_ab"] = ab
    out["betainc_ab"] = np.array([scipy.special.betainc(a, b, xs) for a, b in ab])
    out["betaincinv_ab"] = np.array([scipy.special.betaincinv(a, b, xs) for a, b in ab])

    # spherical coordinate transform of pinned R_d points
    for n, d in [(24, 1), (30, 2), (30, 3), (20, 5), (16, 15), (12, 26), (10, 40), (8, 63)]:
        pinned = PinnedRng(uniforms=rng.uniform(size=d))
        samples = QuasirandomSequence().sample(n, d, rng=pinned)
        out[f"sct_{n}x{d}_samples"] = samples
        out[f"sct_{n}x{d}_approx"] = ScatteredHypersphere.spherical_transform_sct(
            samples, approx=True
        )
        out[f"sct_{n}x{d}_exact"] = ScatteredHypersphere.spherical_transform_sct(
            samples, approx=False
        )
        out[f"sct_{n}x{d}_tfww"] = ScatteredHypersphere.spherical_transform_tfww(
            samples.copy()  # Nengo's tfww scales its input in place
        )

    # the whole ScatteredHypersphere.sample with pinned offset(s) and rotation
    names = []
    for n, d, surface, min_mag, method in [
        (9, 1, True, 0.0, "sct-approx"),
        (9, 1, False, 0.0, "sct-approx"),
        (8, 1, False, 0.3, "sct-approx"),
        (40, 2, True, 0.0, "sct-approx"),
        (40, 2, False, 0.0, "sct-approx"),
        (30, 3, True, 0.0, "sct-approx"),
        (30, 3, False, 0.2, "sct-approx"),
        (25, 6, False, 0.0, "sct-approx"),
        (20, 16, True, 0.0, "sct-approx"),
        (20, 5, False, 0.0, "sct"),
        (20, 4, True, 0.0, "sct"),
    ]:
        dist = ScatteredHypersphere(surface=surface, min_magnitude=min_mag, method=method)
        if d == 1:
            n_offsets = 1 if surface else 2
            uniforms = rng.uniform(size=n_offsets)
            normals = np.zeros(0)
        else:
            uniforms = rng.uniform(size=d - 1 if surface else d)
            normals = rng.standard_normal(d * d)
        pinned = PinnedRng(uniforms=uniforms, normals=normals)
        s = dist.sample(n, d, rng=pinned)
        pinned.done()
        key = f"sh{len(names)}"
        names.append(key)
        out[f"{key}_n"] = np.array(n, dtype=np.int64)
        out[f"{key}_d"] = np.array(d, dtype=np.int64)
        out[f"{key}_surface"] = np.array(surface)
        out[f"{key}_min_magnitude"] = np.array(min_mag)
        out[f"{key}_exact"] = np.array(method == "sct")
        out[f"{key}_uniforms"] = uniforms
        out[f"{key}_normals"] = normals
        out[f"{key}_samples"] = s
    out["sh_count"] = np.array(len(names), dtype=np.int64)

    # CosineSimilarity / SqrtBeta cdf and ppf (used to pick intercepts)
    cs_dims = np.array([2, 3, 5, 16, 64], dtype=np.int64)
    cs_x = np.array([-0.99, -0.5, -0.1, 0.0, 0.2, 0.7, 0.95])
    cs_y = np.array([0.001, 0.1, 0.3, 0.5, 0.65, 0.9, 0.999])
    out["cos_dims"] = cs_dims
    out["cos_x"] = cs_x
    out["cos_y"] = cs_y
    out["cos_cdf"] = np.array([nengo.dists.CosineSimilarity(int(d)).cdf(cs_x) for d in cs_dims])
    out["cos_ppf"] = np.array([nengo.dists.CosineSimilarity(int(d)).ppf(cs_y) for d in cs_dims])
    save("spherical.npz", **out)


def gen_mt19937():
    rs = np.random.RandomState(0)
    save("mt19937.npz", seed0_random_sample=rs.random_sample(16))


def gen_statistics():
    """Rotation-invariant statistics of real Nengo samples (true NumPy randomness)."""
    out = {}
    rng = np.random.RandomState(21)
    for name, dist, n, d in [
        ("scat_ball_3", ScatteredHypersphere(), 600, 3),
        ("scat_surf_4", ScatteredHypersphere(surface=True), 500, 4),
        ("scat_ball_8", ScatteredHypersphere(), 800, 8),
        ("scat_ball_mm_5", ScatteredHypersphere(min_magnitude=0.5), 500, 5),
        ("unif_ball_3", UniformHypersphere(), 600, 3),
        ("unif_ball_mm_4", UniformHypersphere(min_magnitude=0.4), 600, 4),
    ]:
        s = dist.sample(n, d, rng=rng)
        norms = np.linalg.norm(s, axis=1)
        out[f"{name}_norm_quantiles"] = np.quantile(norms, np.linspace(0, 1, 21))
        out[f"{name}_second_moment_eigs"] = np.sort(np.linalg.eigvalsh(s.T @ s / n))
        out[f"{name}_n"] = np.array(n, dtype=np.int64)
        out[f"{name}_d"] = np.array(d, dtype=np.int64)
    save("statistics.npz", **out)


if __name__ == "__main__":
    print(f"nengo {nengo.__version__}, numpy {np.__version__}, scipy {scipy.__version__}")
    gen_lstsq()
    gen_connections()
    gen_eval_point_counts()
    gen_quasirandom()
    gen_spherical()
    gen_mt19937()
    gen_statistics()
