"""Fill the gaps in a table: ActionMatchingImputer against scikit-learn's imputers (issue 20).

The protocol of ForestDiffusion (Jolicoeur-Martineau et al., AISTATS 2024), on tables
that load offline: every feature scaled to [0, 1] on the whole table, the rows split
80/20 (stratified for classes), 20 % of the training entries removed completely at
random (MCAR, per entry), and the training table imputed by each method fitted on it.

- **MinMAE / AvgMAE**: the mean absolute error on the removed entries, the smallest
  and the average over ``N_IMPUTATIONS`` imputations (different seeds; a
  deterministic method gives the same table every time);
- **W1**: exact 1-Wasserstein distance, cityblock ground cost, between the imputed
  and the true training table (averaged over the imputations);
- **downstream**: accuracy (classes) or R² (a target) on the untouched test rows of a
  random forest trained on the imputed training table (averaged likewise);
- **fit+transform s** of one imputation.

Peers in the same run: ``SimpleImputer(mean)``, ``KNNImputer``, ``IterativeImputer``
(default, and ``sample_posterior=True``), and a MissForest stand-in
(``IterativeImputer(RandomForestRegressor)``). ``load_iris`` and ``load_wine`` tuned
our defaults; ``load_breast_cancer`` and ``load_diabetes`` only check them.

    python -m benchmarks.run --sections impute
"""

import time

import numpy as np
import ot
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from sklearn_am import ActionMatchingImputer

from ..common import log, markdown_table

#: Tables: name → (loader, task, role).
TABLES = {
    "iris": (load_iris, "classification", "tuning"),
    "wine": (load_wine, "classification", "tuning"),
    "breast_cancer": (load_breast_cancer, "classification", "check"),
    "diabetes": (load_diabetes, "regression", "check"),
}
MISSING_RATE = 0.2
N_IMPUTATIONS = 5
#: Published (ForestDiffusion's Table, their protocol): MinMAE / AvgMAE / W_train.
PUBLISHED = {
    "iris": {"ForestDiffusion": (0.046, 0.095, 0.069), "MissForest": (0.061, 0.072, 0.050),
             "KNN": (0.105, 0.105, 0.071)},
    "wine": {"ForestDiffusion": (0.085, 0.127, 0.344), "MissForest": (0.095, 0.106, 0.274),
             "KNN": (0.139, 0.139, 0.358)},
}


def _methods():
    """name → (factory(seed) -> imputer, stochastic)."""
    return {
        "ours": (lambda seed: ActionMatchingImputer(random_state=seed), True),
        "mean": (lambda seed: SimpleImputer(), False),
        "KNN": (lambda seed: KNNImputer(), False),
        "Iterative": (lambda seed: IterativeImputer(random_state=seed), False),
        "Iterative (posterior)": (
            lambda seed: IterativeImputer(sample_posterior=True, random_state=seed), True),
        "MissForest stand-in": (lambda seed: IterativeImputer(
            RandomForestRegressor(n_estimators=100, n_jobs=1, random_state=seed),
            max_iter=10, random_state=seed), False),
    }


def load_table(name, seed):
    """(X_train, X_train_missing, X_test, y_train, y_test, task) in [0, 1] units."""
    loader, task, _ = TABLES[name]
    X, y = loader(return_X_y=True)
    X = MinMaxScaler().fit_transform(X.astype(np.float64))
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=seed,
        stratify=y if task == "classification" else None)
    rng = np.random.RandomState(1000 + seed)
    missing = rng.rand(*X_train.shape) < MISSING_RATE
    X_missing = np.where(missing, np.nan, X_train)
    return X_train, X_missing, X_test, y_train, y_test, task


def w1_cityblock(A, B):
    """Exact W1 between two equal-size tables, cityblock ground cost (POT's network simplex)."""
    cost = ot.dist(A, B, metric="cityblock")
    return float(ot.emd2(np.full(len(A), 1 / len(A)), np.full(len(B), 1 / len(B)), cost,
                         numItermax=10_000_000))


def _downstream(X_imputed, y_train, X_test, y_test, task, seed):
    if task == "classification":
        model = RandomForestClassifier(n_estimators=200, random_state=seed, n_jobs=1)
    else:
        model = RandomForestRegressor(n_estimators=200, random_state=seed, n_jobs=1)
    return float(model.fit(X_imputed, y_train).score(X_test, y_test))


def run(seeds=(0, 1, 2), tables=tuple(TABLES), methods=None):
    methods = methods or _methods()
    records = []
    for name in tables:
        for seed in seeds:
            X_true, X_missing, X_test, y_train, y_test, task = load_table(name, seed)
            holes = np.isnan(X_missing)
            for method, (factory, stochastic) in methods.items():
                maes, w1s, scores, seconds = [], [], [], []
                for k in range(N_IMPUTATIONS if stochastic else 1):
                    start = time.perf_counter()
                    X_imputed = factory(100 * seed + k).fit_transform(X_missing)
                    seconds.append(time.perf_counter() - start)
                    if not np.array_equal(X_imputed[~holes], X_missing[~holes]):
                        raise AssertionError(f"{method} changed observed entries on {name}")
                    maes.append(float(np.abs(X_imputed - X_true)[holes].mean()))
                    w1s.append(w1_cityblock(X_imputed, X_true))
                    scores.append(_downstream(X_imputed, y_train, X_test, y_test, task, seed))
                rec = {"table": name, "role": TABLES[name][2], "seed": seed, "method": method,
                       "min_mae": min(maes), "avg_mae": float(np.mean(maes)),
                       "w1": float(np.mean(w1s)), "downstream": float(np.mean(scores)),
                       "task": task, "seconds": float(np.mean(seconds)),
                       "n_imputations": len(maes)}
                records.append(rec)
                log(f"  {name} seed {seed} {method}: MinMAE {rec['min_mae']:.4f} AvgMAE "
                    f"{rec['avg_mae']:.4f} W1 {rec['w1']:.4f} downstream "
                    f"{rec['downstream']:.3f} ({rec['seconds']:.1f} s)")
    return records


def summary(records):
    """(table, method) → mean and std over seeds of each measure."""
    out = {}
    for rec in records:
        out.setdefault((rec["table"], rec["method"]), []).append(rec)
    return {key: {m: (float(np.mean([r[m] for r in recs])), float(np.std([r[m] for r in recs])))
                  for m in ("min_mae", "avg_mae", "w1", "downstream", "seconds")}
            for key, recs in out.items()}


def markdown(records, machine):
    rows = []
    for (table, method), s in summary(records).items():
        task = next(r["task"] for r in records if r["table"] == table)
        rows.append([table, method] + [f"{s[m][0]:.4f} ± {s[m][1]:.4f}"
                                       for m in ("min_mae", "avg_mae", "w1")]
                    + [f"{s['downstream'][0]:.3f} ({'acc' if task == 'classification' else 'R²'})",
                       f"{s['seconds'][0]:.1f}"])
    published = [[table, method, *values] for table, peers in PUBLISHED.items()
                 for method, values in peers.items()]
    seeds = sorted({r["seed"] for r in records})
    return "\n".join([
        f"# Impute missing values (MCAR {MISSING_RATE:.0%}, {len(seeds)} seeds)", "",
        f"Machine: {machine['platform']}, torch {machine['torch']} ({machine['torch_threads']} "
        "thread(s)). Min–max units; mean ± std over seeds. MinMAE / AvgMAE: MAE on the "
        f"removed entries, best and average of {N_IMPUTATIONS} imputations (one for "
        "deterministic methods); W1: exact cityblock Wasserstein distance between the imputed "
        "and the true training table; downstream: a random forest trained on the imputed "
        "table, scored on the untouched test rows. iris and wine tuned our defaults; "
        "breast_cancer and diabetes check them.", "",
        markdown_table(["table", "method", "MinMAE", "AvgMAE", "W1", "downstream",
                        "fit+transform s"], rows),
        "", "Published (ForestDiffusion, their splits and seeds: MinMAE / AvgMAE / W_train):", "",
        markdown_table(["table", "method", "MinMAE", "AvgMAE", "W_train"], published), ""])
