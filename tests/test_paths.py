"""Tests of sklearn_am._sampling.paths and sklearn_am._sampling.couplings."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from sklearn_am._sampling.couplings import entropic_reg, pair, pair_pool, transport_plan
from sklearn_am._numerics.losses import Batch
from sklearn_am._sampling.paths import (
    BrownianBridgePath,
    InterpolationSampler,
    LinearPath,
    QuadratureSampler,
    low_discrepancy_uniform,
)
from sklearn_am._sampling.snapshots import Snapshots

# --------------------------------------------------------------------- couplings


def _clouds(m=20, n=20, d=2, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(m, d), rng.randn(n, d) + 1.0


def test_exact_plan_equal_sizes_is_a_permutation_with_optimal_cost():
    A, B = _clouds(25, 25)
    P = transport_plan(A, B)
    m = len(A)
    assert_allclose(np.sort(P.ravel() * m)[-m:], 1.0)  # m entries of 1/m
    assert_allclose(np.sort(P.ravel() * m)[:-m], 0.0, atol=1e-12)
    assert_allclose(P.sum(axis=0), 1.0 / m)
    assert_allclose(P.sum(axis=1), 1.0 / m)
    cost = cdist(A, B, "sqeuclidean")
    rows, cols = linear_sum_assignment(cost)
    assert_allclose((P * cost).sum(), cost[rows, cols].mean(), rtol=1e-10)


def test_plan_unequal_sizes_marginals():
    A, B = _clouds(12, 30)
    exact, entropic = transport_plan(A, B), transport_plan(A, B, method="sinkhorn", reg=0.5)
    for P in (exact, entropic):
        assert P.shape == (12, 30) and np.all(P >= 0)
        assert_allclose(P.sum(axis=0), 1 / 30, rtol=1e-6)  # columns exact
    assert_allclose(exact.sum(axis=1), 1 / 12, rtol=1e-6)
    assert_allclose(entropic.sum(axis=1), 1 / 12, rtol=1.1e-2)  # LOG_SINKHORN_TOL


def test_log_sinkhorn_matches_a_converged_solver():
    """Each row's conditional law (what pairing draws from) is POT's to within 1 %."""
    import ot

    from sklearn_am._sampling.couplings import log_sinkhorn

    A, B = _clouds(200, 200)
    cost = ot.dist(A, B)
    reg = 0.02 * np.median(cost)
    ours = log_sinkhorn(cost, reg)
    reference = ot.sinkhorn(np.full(200, 1 / 200), np.full(200, 1 / 200), cost, reg,
                            method="sinkhorn_log", numItermax=100_000, stopThr=1e-10)
    conditional = ours / ours.sum(axis=1, keepdims=True)
    truth = reference / reference.sum(axis=1, keepdims=True)
    assert 0.5 * np.abs(conditional - truth).sum(axis=1).max() < 0.01


def test_plan_invalid_method():
    A, B = _clouds(3, 3)
    with pytest.raises(ValueError, match="'greedy'"):
        transport_plan(A, B, method="greedy")


def test_pair_of_a_permutation_is_the_permutation():
    perm = np.random.RandomState(0).permutation(15)
    P = np.zeros((15, 15))
    P[np.arange(15), perm] = 1 / 15
    assert_array_equal(pair(P, np.random.RandomState(1)), perm)
    A, B = _clouds(15, 15)
    P = transport_plan(A, B)
    assert_array_equal(pair(P, np.random.RandomState(2)), P.argmax(axis=1))


def test_pair_of_a_product_plan_is_uniform():
    m, n, repeats = 4, 5, 4000
    P = np.full((m, n), 1.0 / (m * n))
    rng = np.random.RandomState(0)
    cols = np.concatenate([pair(P, rng) for _ in range(repeats)])
    counts = np.bincount(cols, minlength=n)
    expected = m * repeats / n
    assert counts.sum() == m * repeats
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


def test_pair_follows_row_conditionals():
    P = np.array([[0.3, 0.1, 0.0], [0.0, 0.0, 0.6]])
    rng = np.random.RandomState(0)
    cols = np.stack([pair(P, rng) for _ in range(4000)])
    assert np.all(cols[:, 1] == 2)
    assert set(np.unique(cols[:, 0])) == {0, 1}
    assert_allclose((cols[:, 0] == 0).mean(), 0.75, atol=0.03)


@pytest.mark.parametrize("method", ["independent", "exact", "sinkhorn"])
def test_pair_pool_marginals_are_uniform(method):
    n_a, n_b, n_pairs = 40, 40, 2000
    A, B = _clouds(n_a, n_b)
    ia, ib = pair_pool(n_a, n_b, n_pairs, np.random.RandomState(0), method=method,
                       points=(A, B), reg=0.5)
    assert len(ia) == len(ib) >= n_pairs
    assert ia.dtype.kind == ib.dtype.kind == "i"
    for idx, n in ((ia, n_a), (ib, n_b)):
        counts = np.bincount(idx, minlength=n)
        expected = len(idx) / n
        assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected)), counts
    if method == "exact":
        # Each solve uses every row of both (equal-size) snapshots exactly once.
        assert np.all(np.bincount(ia) == len(ia) // n_a)
        assert np.all(np.bincount(ib) == len(ib) // n_b)


def test_pair_pool_unequal_sizes_uses_subsets():
    A, B = _clouds(30, 50)
    ia, ib = pair_pool(30, 50, 3000, np.random.RandomState(0), method="exact", points=(A, B))
    assert ia.max() < 30 and ib.max() < 50
    counts = np.bincount(ib, minlength=50)
    assert np.all(np.abs(counts - len(ib) / 50) < 5 * np.sqrt(len(ib) / 50))


def test_exact_pairs_of_a_shifted_cloud_are_its_copies():
    """Under squared-Euclidean cost a translation is the optimal map."""
    rng = np.random.RandomState(0)
    A = rng.randn(60, 3)
    B = A + np.array([3.0, -1.0, 0.5])
    ia, ib = pair_pool(60, 60, 300, rng, method="exact", points=(A, B))
    assert_array_equal(ia, ib)
    assert len(np.unique(ia)) == 60
    # Minibatches of random subsets of each side cannot pair copies (minibatch OT).
    ia, ib = pair_pool(60, 60, 300, rng, method="exact", points=(A, B), batch_size=20)
    assert len(ia) == 300 and np.mean(ia == ib) < 0.9


def test_sinkhorn_limits():
    A, B = _clouds(20, 20, seed=1)
    exact = transport_plan(A, B)
    product = np.full((20, 20), 1 / 400)
    small = transport_plan(A, B, method="sinkhorn", reg=1e-3)
    large = transport_plan(A, B, method="sinkhorn", reg=1e4)
    medium = transport_plan(A, B, method="sinkhorn", reg=1.0)
    assert np.abs(small - exact).sum() < 0.05
    assert np.abs(large - product).sum() < 0.01
    # In between: neither.
    assert np.abs(medium - exact).sum() > 0.1 and np.abs(medium - product).sum() > 0.1
    # Small reg still has the right marginals (the solver converged).
    assert_allclose(small.sum(axis=0), 1 / 20, rtol=1e-2)


def test_entropic_reg():
    assert entropic_reg(0.5, 0.2) == pytest.approx(2 * 0.25 * 0.2)
    assert entropic_reg(0.0, 1.0) == 0.0


# ------------------------------------------------------------------------- paths


def test_low_discrepancy_uniform_range_and_stratification():
    n = 500
    u = low_discrepancy_uniform(n, torch.Generator().manual_seed(0), "cpu")
    assert u.shape == (n,) and u.dtype == torch.float64
    assert torch.all((u >= 0) & (u < 1))
    counts = np.bincount((u.numpy() * n).astype(int), minlength=n)
    assert counts.max() <= 2
    assert (counts == 0).mean() < 0.25  # i.i.d. uniforms leave ~37 % of bins empty
    for k in (5, 10, 50):  # coarser bins: (almost) exactly n/k points each
        coarse = np.bincount((u.numpy() * k).astype(int), minlength=k)
        assert np.all(np.abs(coarse - n / k) <= 2)
    other = low_discrepancy_uniform(n, torch.Generator().manual_seed(1), "cpu")
    assert not torch.equal(u, other)  # a fresh random shift per call


def test_linear_path_endpoints_and_midpoint():
    a, b = torch.randn(4, 2), torch.randn(4, 2)
    path = LinearPath()
    lam = torch.tensor([0.0, 1.0, 0.5, 0.25])
    x = path.sample(a, b, lam, 0.3)
    assert torch.equal(x[0], a[0]) and torch.equal(x[1], b[1])
    assert_allclose(x[2], (a[2] + b[2]) / 2, rtol=1e-6)
    assert_allclose(x[3], 0.75 * a[3] + 0.25 * b[3], rtol=1e-6)
    assert torch.count_nonzero(path.std(lam, 0.3)) == 0


def test_brownian_bridge_std_formula_and_sample_variance():
    sigma, dt = 0.8, 0.5
    path = BrownianBridgePath(sigma)
    lam = torch.tensor([0.0, 0.25, 0.5, 1.0], dtype=torch.float64)
    expected = sigma * np.sqrt(lam.numpy() * (1 - lam.numpy()) * dt)
    assert_allclose(path.std(lam, dt), expected, rtol=1e-12)
    n = 20_000
    a = torch.zeros(n, 2, dtype=torch.float64)
    b = torch.ones(n, 2, dtype=torch.float64)
    lam = torch.full((n,), 0.3, dtype=torch.float64)
    x = path.sample(a, b, lam, dt, generator=torch.Generator().manual_seed(0))
    assert_allclose(x.mean(0), [0.3, 0.3], atol=0.02)
    assert_allclose(x.var(0), sigma**2 * 0.3 * 0.7 * dt, rtol=0.05)
    # The bridge is pinned at both ends.
    ends = path.sample(a[:2], b[:2], torch.tensor([0.0, 1.0], dtype=torch.float64), dt)
    assert torch.equal(ends[0], a[0]) and torch.equal(ends[1], b[1])


def _shifted_snapshots(n=50, seed=0, masses=None, device="cpu"):
    """Three snapshots at t = 0, 0.5, 2: a cloud and translations of it."""
    rng = np.random.RandomState(seed)
    base = rng.randn(n, 2)
    shifts = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 3.0]])
    times = np.array([0.0, 0.5, 2.0])
    X = np.concatenate([base + s for s in shifts])
    t = np.repeat(times, n)
    order = rng.permutation(len(t))  # Snapshots sorts by time itself
    snaps = Snapshots(X[order], t[order], torch.device(device), masses=masses)
    return snaps, base, shifts, times


def test_snapshots_sorted_and_counted():
    snaps, base, shifts, times = _shifted_snapshots(n=10)
    assert_array_equal(snaps.times, times)
    assert_array_equal(snaps.counts, [10, 10, 10])
    assert snaps.span == 2.0 and snaps.n_times == 3
    for k in range(3):
        assert_allclose(np.sort(snaps.snapshot(k), axis=0), np.sort(base + shifts[k], axis=0))


def _check_batch(batch, snaps, batch_size, dtype=torch.float32, n_interior=None):
    n_interior = batch_size if n_interior is None else n_interior
    assert isinstance(batch, Batch)
    assert batch.x.shape == (n_interior, 2) and batch.x_start.shape == (batch_size, 2)
    assert batch.x_end.shape == (batch_size, 2)
    for field in batch:
        assert field is None or (field.dtype == dtype and field.device == snaps.device)
    for field in (batch.t, batch.w):
        assert field.shape == (n_interior,)
    for field in (batch.t_start, batch.w_start, batch.t_end, batch.w_end):
        assert field.shape == (batch_size,)
    assert torch.all(batch.t >= snaps.times[0]) and torch.all(batch.t <= snaps.times[-1])
    assert torch.all(batch.t_start == snaps.times[0])
    assert torch.all(batch.t_end == snaps.times[-1])


@pytest.mark.parametrize("coupling", ["independent", "exact", "sinkhorn"])
def test_interpolation_sampler_batch(coupling):
    snaps, base, shifts, times = _shifted_snapshots()
    sampler = InterpolationSampler(snaps, coupling, LinearPath(), n_draws=1000,
                                   rng=np.random.RandomState(0), reg=lambda dt: 0.1 * dt)
    batch = sampler.draw(64, torch.Generator().manual_seed(0))
    _check_batch(batch, snaps, 64, n_interior=128)  # 64 per interval, 2 intervals
    assert_allclose(batch.w.sum().item(), snaps.span, rtol=1e-5)
    # The path velocity of a straight line between the pair: x = a + λ(b − a).
    assert batch.v.shape == batch.x.shape
    assert_allclose(batch.w_start.sum().item(), 1.0, rtol=1e-5)
    assert_allclose(batch.w_end.sum().item(), 1.0, rtol=1e-5)
    # Boundary points are points of the first and last snapshot.
    for x, k in ((batch.x_start, 0), (batch.x_end, 2)):
        dist = torch.cdist(x.double(), torch.as_tensor(base + shifts[k]))
        assert torch.all(dist.min(dim=1).values < 1e-5)


def test_interpolation_sampler_exact_pairs_follow_the_translation():
    """With OT pairs of translated clouds, x_τ − shift(τ) is a point of the base cloud."""
    snaps, base, shifts, times = _shifted_snapshots()
    sampler = InterpolationSampler(snaps, "exact", LinearPath(), n_draws=2000,
                                   rng=np.random.RandomState(0))
    batch = sampler.draw(256, torch.Generator().manual_seed(1))
    tau = batch.t.double().numpy()
    shift = np.stack([np.interp(tau, times, shifts[:, j]) for j in range(2)], axis=1)
    residual = batch.x.double().numpy() - shift
    assert cdist(residual, base).min(axis=1).max() < 1e-4
    # The path velocity is the translation speed of the interval.
    k = np.searchsorted(times, tau, side="right").clip(1, len(times) - 1) - 1
    speed = (shifts[k + 1] - shifts[k]) / (times[k + 1] - times[k])[:, None]
    assert_allclose(batch.v.double().numpy(), speed, atol=1e-4)
    # Independent pairs do not: most points are off the translated cloud.
    independent = InterpolationSampler(snaps, "independent", LinearPath(), n_draws=2000,
                                       rng=np.random.RandomState(0))
    batch = independent.draw(256, torch.Generator().manual_seed(1))
    tau = batch.t.double().numpy()
    shift = np.stack([np.interp(tau, times, shifts[:, j]) for j in range(2)], axis=1)
    residual = batch.x.double().numpy() - shift
    assert np.median(cdist(residual, base).min(axis=1)) > 1e-2


def test_interpolation_sampler_times_cover_the_range_evenly():
    snaps, *_ = _shifted_snapshots(n=20)
    sampler = InterpolationSampler(snaps, "independent", LinearPath(), n_draws=100,
                                   rng=np.random.RandomState(0))
    batch = sampler.draw(400, torch.Generator().manual_seed(0))
    # 400 points per interval, spread evenly (stratified) inside each interval.
    t = batch.t.double().numpy()
    assert int((t < 0.5).sum()) == 400 and int((t >= 0.5).sum()) == 400
    assert abs(int((t < 0.25).sum()) - 200) <= 2
    assert abs(int((t < 1.25).sum()) - 600) <= 2


def test_interpolation_sampler_masses_in_weights():
    masses = np.array([1.0, 2.0, 4.0])
    snaps, *_ = _shifted_snapshots(masses=masses)
    sampler = InterpolationSampler(snaps, "independent", LinearPath(), n_draws=100,
                                   rng=np.random.RandomState(0))
    batch = sampler.draw(128, torch.Generator().manual_seed(0))
    assert_allclose(batch.w_start.sum().item(), 1.0, rtol=1e-5)
    assert_allclose(batch.w_end.sum().item(), 4.0, rtol=1e-5)
    # Interior weights: span/n times the geometric interpolation of the masses.
    t = batch.t.double().numpy()
    log_mass = np.interp(t, [0.0, 0.5, 2.0], np.log(masses))
    interval_length = np.where(t < 0.5, 0.5, 1.5)  # each interval's share: its length / 128
    assert_allclose(batch.w.double().numpy(), np.exp(log_mass) * interval_length / 128,
                    rtol=1e-4)


def test_interpolation_sampler_seeded_draws_reproducible():
    snaps, *_ = _shifted_snapshots()

    def draw(seed):
        sampler = InterpolationSampler(snaps, "exact", BrownianBridgePath(0.3), n_draws=500,
                                       rng=np.random.RandomState(0))
        return sampler.draw(32, torch.Generator().manual_seed(seed))

    for a, b in zip(draw(3), draw(3)):
        assert (a is None and b is None) or torch.equal(a, b)
    assert not torch.equal(draw(3).x, draw(4).x)


def test_quadrature_sampler_uses_observed_times_with_trapezoid_frequencies():
    snaps, *_ = _shifted_snapshots(n=30)
    sampler = QuadratureSampler(snaps)
    batch_size = 3000
    batch = sampler.draw(batch_size, torch.Generator().manual_seed(0))
    # batch_size per interval, at most twice batch_size in all
    _check_batch(batch, snaps, batch_size, n_interior=2 * batch_size)
    assert set(np.unique(batch.t.numpy())) <= {0.0, 0.5, 2.0}
    # Trapezoid weights for t = (0, 0.5, 2): (0.25, 1.0, 0.75) / 2.
    freq = np.array([(batch.t == t).double().mean().item() for t in (0.0, 0.5, 2.0)])
    assert_allclose(freq, [0.125, 0.5, 0.375], atol=0.005)
    assert_allclose(batch.w.sum().item(), snaps.span, rtol=1e-5)
    # Each point is a point of the snapshot at its time.
    for k, t in enumerate((0.0, 0.5, 2.0)):
        rows = batch.x[batch.t == t].double()
        dist = torch.cdist(rows, torch.as_tensor(snaps.snapshot(k)))
        assert torch.all(dist.min(dim=1).values < 1e-5)


def test_noise_paths_share_the_path_interface():
    """The linear noise path is the LinearPath from noise ε to the blurred row x + b·ε."""
    from sklearn_am._sampling.noise_paths import LinearNoisePath, SampledPath, VPNoisePath
    from sklearn_am._sampling.paths import Path

    g = torch.Generator().manual_seed(0)
    eps, x = torch.randn(50, 3, generator=g, dtype=torch.float64), torch.randn(
        50, 3, generator=g, dtype=torch.float64)
    tau = torch.rand(50, generator=g, dtype=torch.float64)
    b = 0.2
    noise_path, line = LinearNoisePath(b), LinearPath()
    assert isinstance(noise_path, Path) and isinstance(VPNoisePath(b), Path)
    assert_allclose(noise_path.sample(eps, x, tau, 1.0), line.mean(eps, x + b * eps, tau),
                    atol=1e-12)
    assert_allclose(noise_path.velocity(eps, x, tau, 1.0),
                    line.velocity(eps, x + b * eps, tau, torch.ones(50, dtype=torch.float64)),
                    atol=1e-12)
    # VP: noise at τ = 0, the blurred row at τ = 1, and the velocity is d/dτ of the mean.
    vp = VPNoisePath(b)
    zeros, ones = torch.zeros(50, dtype=torch.float64), torch.ones(50, dtype=torch.float64)
    assert_allclose(vp.sample(eps, x, zeros, 1.0), eps, atol=1e-12)
    assert_allclose(vp.sample(eps, x, ones, 1.0), x + b * eps, atol=1e-12)
    h = 1e-6
    tau_in = tau.clamp(0.01, 0.99)
    finite = (vp.mean(eps, x, tau_in + h) - vp.mean(eps, x, tau_in - h)) / (2 * h)
    assert_allclose(vp.velocity(eps, x, tau_in, 1.0), finite, rtol=1e-5, atol=1e-6)
    assert not SampledPath(lambda X, t, rng: X).has_velocity


def test_unbalanced_pool_creates_mass_where_it_appears():
    """Two still clusters, one doubling: the unbalanced coupling pairs within clusters
    and gives the doubling one a growth factor 2; balanced OT moves mass across."""
    from sklearn_am._sampling.couplings import pair_pool, unbalanced_pool

    rng = np.random.RandomState(0)
    A = np.vstack([rng.normal(size=(200, 2)) * 0.3 + [-3, 0],
                   rng.normal(size=(200, 2)) * 0.3 + [3, 0]])
    B = np.vstack([rng.normal(size=(200, 2)) * 0.3 + [-3, 0],
                   rng.normal(size=(400, 2)) * 0.3 + [3, 0]])
    pool = unbalanced_pool(A, B, 1.0, 1.5, 4000, rng, rho=4.0, eps=0.02)
    left_a, left_b = pool.idx_a < 200, pool.idx_b < 200
    assert np.mean(left_a != left_b) < 0.005
    growth = pool.log_b - pool.log_a
    assert abs(growth[left_a].mean()) < 0.05
    assert abs(growth[~left_a].mean() - np.log(2.0)) < 0.05
    ia, ib = pair_pool(400, 600, 4000, rng, method="exact", points=(A, B))
    assert np.mean((ia < 200) != (ib < 200)) > 0.1  # what the balanced coupling does


def test_uam_regression_form_equals_action_form_up_to_a_constant():
    """Along weighted straight paths (mass w_λ = w_a^(1−λ) w_b^λ, rate γ = log(w_b/w_a)),
    the uAM action equals ½∫E_w[‖∇s − ẋ‖² + (λs − γ)²/λ] dt minus a constant, for any s."""
    from numpy.polynomial.legendre import leggauss

    from sklearn_am._numerics.losses import Batch, action_loss, uam_integrand, uam_regression_loss
    from sklearn_am.networks import MLPPotential

    gen = torch.Generator().manual_seed(0)
    n, d, lam_scale = 30, 2, 0.7
    a = torch.randn(n, d, generator=gen, dtype=torch.float64)
    b = a + torch.tensor([1.0, -0.5], dtype=torch.float64)
    wa = torch.rand(n, generator=gen, dtype=torch.float64) + 0.5
    wb = wa * torch.exp(torch.randn(n, generator=gen, dtype=torch.float64) * 0.3)
    nodes, weights = leggauss(32)
    lam = torch.as_tensor((nodes + 1) / 2)
    w_lam = torch.as_tensor(weights / 2)
    x = (a[None] + lam[:, None, None] * (b - a)[None]).reshape(-1, d)
    t = lam.repeat_interleave(n)
    mass = (wa[None] ** (1 - lam[:, None]) * wb[None] ** lam[:, None]) / n
    w = (w_lam[:, None] * mass).reshape(-1)
    v = (b - a).repeat(len(lam), 1)
    g = torch.log(wb / wa).repeat(len(lam))
    batch = Batch(a, torch.zeros(n, dtype=torch.float64), wa / n,
                  b, torch.ones(n, dtype=torch.float64), wb / n, x, t, w, v, g)
    constant = 0.5 * (w * (v.square().sum(1) + g.square() / lam_scale)).sum().item()
    for seed in range(3):
        torch.manual_seed(seed)
        net = MLPPotential(d, (16, 16)).double()
        for p in net.parameters():
            torch.nn.init.normal_(p, std=0.5)
        action = action_loss(net, batch, uam_integrand, growth_scale=lam_scale).item()
        regression = uam_regression_loss(net, batch, growth_scale=lam_scale).item()
        assert abs(action - (regression - constant)) < 1e-8 * max(1.0, abs(action))
