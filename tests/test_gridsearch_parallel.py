"""Grid search in parallel: joblib's default (loky) backend and a dask cluster.

The same search run serially and on worker processes gives the same scores: the
estimator pickles, trains reproducibly from ``random_state`` and its ``score``
(minus the AM loss) is deterministic, so where a fit runs does not matter.
"""

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_am import ActionMatchingRegressor
from sklearn_am.datasets import make_branching

#: Tiny fits: the point is where they run, not how good they are.
SMALL = dict(hidden_layer_sizes=(8, 8), max_iter=15, batch_size=32, n_steps=5,
             device="cpu", random_state=0)
GRID = {"learning_rate_init": [1e-3, 1e-2]}
SCORE_KEYS = ["split0_test_score", "split1_test_score", "split2_test_score",
              "mean_test_score", "std_test_score"]


def _search(n_jobs):
    return GridSearchCV(ActionMatchingRegressor(**SMALL), GRID,
                        cv=KFold(3, shuffle=True, random_state=0), n_jobs=n_jobs,
                        refit=False)


@pytest.fixture(scope="module")
def data():
    return make_branching(60, times=(0.0, 1.0, 2.0), random_state=0)


@pytest.fixture(scope="module")
def serial(data):
    return _search(n_jobs=1).fit(*data).cv_results_


def _assert_same_results(results, reference):
    assert results["params"] == reference["params"]
    for key in SCORE_KEYS:
        # Worker processes may use another number of threads: equal up to float32 sums.
        assert_allclose(results[key], reference[key], rtol=1e-4, atol=1e-6, err_msg=key)
    assert_array_equal(results["rank_test_score"], reference["rank_test_score"])
    assert np.all(np.isfinite(results["mean_test_score"]))


def test_loky_backend_matches_serial(data, serial):
    search = _search(n_jobs=2).fit(*data)
    _assert_same_results(search.cv_results_, serial)


def test_dask_backend_matches_serial(data, serial):
    distributed = pytest.importorskip(
        "distributed",
        reason='needs dask.distributed: pip install "dask[distributed]"',
    )
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with joblib.parallel_backend("dask"):
            search = _search(n_jobs=2).fit(*data)
        workers = client.run(lambda: "ran")  # the cluster was really up, with 2 workers
    assert len(workers) == 2
    _assert_same_results(search.cv_results_, serial)
