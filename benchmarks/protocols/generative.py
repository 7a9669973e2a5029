"""Generate rows and score them: ActionMatchingDensity against GMM, KDE and OT-CFM (issue 14).

Datasets, each split into training and held-out rows: ``make_moons`` (2-D),
``make_swiss_roll`` (3-D), ``load_digits`` scaled to [0, 1] (64-D), and a 2-D
Gaussian mixture with known density (20,000 training rows). Methods:

- **ours**: ``ActionMatchingDensity`` with its defaults;
- **GaussianMixture**, components 1–20 chosen by BIC;
- **KernelDensity**, bandwidth by 5-fold grid search on the log-likelihood;
- **OT-CFM** (samples only): the TorchCFM recipe of ``methods.peers.CFMMethod`` on the
  same straight path from N(0, I) to the standardised data, trained for our fit time.

Measured: energy distance (and W1 up to 3-D) between generated and held-out rows;
mean held-out log-likelihood; on the known density, the mean absolute error of the
log-density per dimension; on digits, novelty detection (fit on nine classes, ROC
AUC of −log-density for the tenth); and the cost of fit, ``sample(10_000)`` and
``score_samples`` on 1,000 rows. Writes ``results/generative.{json,md}`` and a PNG.

    python -m benchmarks.run --sections generative
"""

import time

import numpy as np
from sklearn.datasets import load_digits, make_moons, make_swiss_roll
from sklearn.metrics import roc_auc_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KernelDensity

from sklearn_am import ActionMatchingDensity
from sklearn_am.metrics import energy_distance, wasserstein_distance

from ..common import RESULTS_DIR, log, markdown_table
from ..methods.peers import CFMMethod

#: The known-density case: a 3-component mixture in 2-D.
TRUTH_WEIGHTS = np.array([0.5, 0.3, 0.2])
TRUTH_MEANS = np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 3.0]])
TRUTH_COVS = np.array([[[1.0, 0.5], [0.5, 1.0]], [[0.5, 0.0], [0.0, 2.0]],
                       [[0.3, -0.2], [-0.2, 0.4]]])


def _truth_sample(n, rng):
    comp = rng.choice(3, size=n, p=TRUTH_WEIGHTS)
    noise = np.einsum("nij,nj->ni", np.linalg.cholesky(TRUTH_COVS)[comp],
                      rng.standard_normal((n, 2)))
    return TRUTH_MEANS[comp] + noise


def _truth_logpdf(X):
    from scipy.stats import multivariate_normal

    parts = [np.log(w) + multivariate_normal(m, c).logpdf(X)
             for w, m, c in zip(TRUTH_WEIGHTS, TRUTH_MEANS, TRUTH_COVS)]
    return np.logaddexp.reduce(np.stack(parts), axis=0)


def datasets(seed=0):
    """name → (X_train, X_test, (labels_train, labels_test) or None)."""
    rng = np.random.RandomState(seed)
    out = {}
    X, _ = make_moons(4000, noise=0.05, random_state=seed)
    out["moons"] = (*train_test_split(X, test_size=0.25, random_state=seed), None)
    X, _ = make_swiss_roll(4000, noise=0.3, random_state=seed)
    out["swiss_roll"] = (*train_test_split(X, test_size=0.25, random_state=seed), None)
    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.data / 16.0, digits.target, test_size=0.25, random_state=seed)
    out["digits"] = (X_train, X_test, (y_train, y_test))
    out["gmm_truth"] = (_truth_sample(20_000, rng), _truth_sample(2_000, rng), None)
    return out


def _gmm(X, seed):
    fits = [GaussianMixture(k, random_state=seed).fit(X) for k in range(1, 21)]
    return min(fits, key=lambda m: m.bic(X))


def _kde(X):
    grid = {"bandwidth": np.logspace(-2, 0.5, 16) * X.std()}
    return GridSearchCV(KernelDensity(), grid, cv=5).fit(X).best_estimator_


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def _cfm_samples(X_train, n, seconds, seed):
    """OT-CFM on the straight path from N(0, I) to the standardised data, for ``seconds``."""
    mean, scale = X_train.mean(0), np.where(X_train.std(0) > 0, X_train.std(0), 1.0)
    Z = (X_train - mean) / scale
    rng = np.random.RandomState(seed)
    noise = rng.standard_normal(Z.shape)
    cfm = CFMMethod(variant="ot", time_budget=seconds)
    cfm.fit(np.concatenate([noise, Z]), np.repeat([0.0, 1.0], len(Z)), seed)
    X, _ = cfm.push(rng.standard_normal((n, Z.shape[1])), 0.0, 1.0)
    return X * scale + mean


def run(seed=0):
    records = []
    for name, (X_train, X_test, labels) in datasets(seed).items():
        first = len(records)
        models = {}
        models["ours"], fit_ours = _timed(
            lambda: ActionMatchingDensity(random_state=seed).fit(X_train))
        models["GaussianMixture"], fit_gmm = _timed(lambda: _gmm(X_train, seed))
        models["KernelDensity"], fit_kde = _timed(lambda: _kde(X_train))
        fits = {"ours": fit_ours, "GaussianMixture": fit_gmm, "KernelDensity": fit_kde}
        n = min(len(X_test), 2000)
        for method, model in models.items():
            samples = (model.sample(n, random_state=seed) if method == "ours" else
                       model.sample(n)[0] if method == "GaussianMixture" else
                       model.sample(n, random_state=seed))
            log_density, score_s = _timed(lambda: model.score_samples(X_test[:1000]))
            _, sample_s = _timed(lambda: model.sample(10_000) if method != "ours" else
                                 model.sample(10_000, random_state=seed))
            rec = {"dataset": name, "method": method, "fit_s": fits[method],
                   "energy": energy_distance(samples, X_test[:n]),
                   "log_likelihood": float(np.mean(log_density)),
                   "score_1000_s": score_s, "sample_10000_s": sample_s}
            if X_train.shape[1] <= 3:
                rec["w1"] = wasserstein_distance(samples, X_test[:n])
            if name == "gmm_truth":
                error = np.abs(log_density - _truth_logpdf(X_test[:1000]))
                rec["mae_per_dim"] = float(error.mean() / X_train.shape[1])
            records.append(rec)
        cfm = _cfm_samples(X_train, n, fit_ours, seed)
        records.append({"dataset": name, "method": "OT-CFM", "fit_s": fit_ours,
                        "energy": energy_distance(cfm, X_test[:n]),
                        **({"w1": wasserstein_distance(cfm, X_test[:n])}
                           if X_train.shape[1] <= 3 else {})})
        if labels is not None:
            records += _novelty(X_train, X_test, labels, seed)
        for r in records[first:]:
            log(f"  {name} {r['method']}: " + ", ".join(
                f"{k} {v:.4g}" for k, v in r.items() if isinstance(v, float)))
        if name in ("moons", "swiss_roll"):
            _plot(name, X_test[:n], models["ours"].sample(n, random_state=seed),
                  models["GaussianMixture"].sample(n)[0])
    return records


def _novelty(X_train, X_test, labels, seed, novel=0):
    """Fit on the nine other digits; ROC AUC of −log-density for the held-out class."""
    y_train, y_test = labels
    known = X_train[y_train != novel]
    scored = np.r_[X_test[y_test != novel], X_test[y_test == novel]]
    y_true = np.r_[np.zeros(np.sum(y_test != novel)), np.ones(np.sum(y_test == novel))]
    out = []
    for method, model in (("ours", ActionMatchingDensity(random_state=seed).fit(known)),
                          ("KernelDensity", _kde(known)),
                          ("GaussianMixture", _gmm(known, seed))):
        out.append({"dataset": f"digits novelty (class {novel})", "method": method,
                    "roc_auc": float(roc_auc_score(y_true, -model.score_samples(scored)))})
    return out


def _plot(name, held_out, ours, gmm):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), sharex=True, sharey=True)
    for ax, (title, pts) in zip(axes, (("held-out rows", held_out),
                                       ("ActionMatchingDensity.sample", ours),
                                       ("GaussianMixture (BIC).sample", gmm))):
        ax.scatter(pts[:, 0], pts[:, -1] if name == "moons" else pts[:, 2], s=2, alpha=0.5)
        ax.set_title(title)
    fig.suptitle(name)
    fig.tight_layout()
    fig.savefig(RESULTS_DIR / f"generative_{name}.png", dpi=100)
    plt.close(fig)


def markdown(records, machine):
    rows = []
    for r in records:
        rows.append([r["dataset"], r["method"]] + [
            f"{r[k]:.4g}" if k in r else "—"
            for k in ("energy", "w1", "log_likelihood", "mae_per_dim", "roc_auc", "fit_s",
                      "sample_10000_s", "score_1000_s")])
    return (
        "# Generate rows and score them (one seed)\n\n"
        f"Machine: {machine['platform']}, torch {machine['torch']} "
        f"({machine['torch_threads']} thread(s)). Energy distance and W1 between generated "
        "and held-out rows (lower is better); mean held-out log-likelihood (higher is "
        "better); MAE per dimension of the log-density on the known mixture; ROC AUC of "
        "novelty detection on digits. PNGs: `results/generative_*.png`.\n\n"
        + markdown_table(["dataset", "method", "energy", "W1", "log-lik", "MAE/dim",
                          "ROC AUC", "fit s", "sample 10k s", "score 1k s"], rows)
    )
