"""sklearn_am.model_selection: folds by held-out time and the score of the prediction there."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score

from sklearn_am import (ActionMatchingDensity, ActionMatchingRegressor,
                        EntropicActionMatching, UnbalancedActionMatching)
from sklearn_am.metrics import energy_distance, wasserstein_distance
from sklearn_am.model_selection import LeaveOneTimeOut, held_out_time_scorer

#: Tiny fits: a clear drift is learnt in a few hundred steps of a small network.
TINY = dict(hidden_layer_sizes=(16, 16), batch_size=64, learning_rate_init=1e-2,
            random_state=0)
ESTIMATORS = [ActionMatchingRegressor, EntropicActionMatching, UnbalancedActionMatching]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny networks: a second thread only adds contention (3x slower on 2 busy cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _drift(n_per_time=100, times=(0.0, 1.0, 2.0), speed=2.0, seed=0):
    """Gaussian snapshots moving right at ``speed``: the truth at t is N((speed·t, 0), I)."""
    rng = np.random.RandomState(seed)
    t = np.repeat(times, n_per_time)
    return rng.normal(size=(len(t), 2)) + t[:, None] * [speed, 0.0], t


# --------------------------------------------------------------------------- #
# LeaveOneTimeOut
# --------------------------------------------------------------------------- #

T = np.array([2.0, 0.0, 1.0, 2.0, 1.0, 0.0, 3.0, 3.0])
X8 = np.arange(16.0).reshape(8, 2)


def _folds(cv, X, t):
    return [(train.tolist(), test.tolist()) for train, test in cv.split(X, t)]


def test_interior_times_are_held_out_one_by_one():
    assert _folds(LeaveOneTimeOut(), X8, T) == [
        ([0, 1, 3, 5, 6, 7], [2, 4]),  # t = 1
        ([1, 2, 4, 5, 6, 7], [0, 3]),  # t = 2
    ]
    assert LeaveOneTimeOut().get_n_splits(X8, T) == 2


def test_every_time_is_held_out_without_interior_only():
    cv = LeaveOneTimeOut(interior_only=False)
    assert [test for _, test in _folds(cv, X8, T)] == [[1, 5], [2, 4], [0, 3], [6, 7]]
    assert cv.get_n_splits(y=T) == 4


def test_folds_follow_the_rows_whatever_their_order():
    order = np.random.RandomState(0).permutation(len(T))
    folds = _folds(LeaveOneTimeOut(), X8, T)
    shuffled = _folds(LeaveOneTimeOut(), X8[order], T[order])
    for (train, test), (train_s, test_s) in zip(folds, shuffled):
        assert sorted(order[test_s]) == test and sorted(order[train_s]) == train


def test_times_may_be_a_list_or_a_column():
    assert _folds(LeaveOneTimeOut(), X8, T.tolist()) == _folds(LeaveOneTimeOut(), X8, T[:, None])


@pytest.mark.parametrize("call", ["split", "get_n_splits"])
def test_a_missing_y_says_to_pass_the_times(call):
    with pytest.raises(ValueError, match=r"needs y, the time of each row: call split\(X, t\)"):
        getattr(LeaveOneTimeOut(), call)(X8)


@pytest.mark.parametrize("interior_only", [True, False])
def test_two_times_are_too_few_and_the_error_says_what_to_use(interior_only):
    t = np.repeat([0.0, 1.0], 4)
    with pytest.raises(ValueError, match=r"at least 3 distinct times.*got 2: \[0.0, 1.0\]"
                                         r".*KFold\(shuffle=True\)"):
        LeaveOneTimeOut(interior_only=interior_only).split(X8, t)  # raised at the call


def test_bad_times_and_parameters_are_refused():
    with pytest.raises(ValueError, match="has 3 entries but X has 8 rows"):
        LeaveOneTimeOut().split(X8, [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="NaN or infinity"):
        LeaveOneTimeOut().get_n_splits(X8, np.where(T == 3, np.nan, T))
    with pytest.raises(TypeError, match="interior_only must be True or False; got 'yes'"):
        LeaveOneTimeOut(interior_only="yes")


def test_repr_shows_the_parameter():
    assert repr(LeaveOneTimeOut(interior_only=False)) == "LeaveOneTimeOut(interior_only=False)"


# --------------------------------------------------------------------------- #
# held_out_time_scorer on a stand-in estimator: the score by hand
# --------------------------------------------------------------------------- #


class _Shift(BaseEstimator):
    """A fitted stand-in: pushes move points by (t_to - t_from) · ``speed`` and give them
    ``weights`` (growth factors)."""

    def __init__(self, source, weights=None, speed=(1.0, 0.0)):
        self.source_samples_, self.times_ = source, np.array([0.0, 2.0])
        self.weights, self.speed = weights, np.asarray(speed)

    def fit(self, X, y):  # pragma: no cover - check_is_fitted wants one
        return self

    def push(self, X, t_from, t_to, *, return_weights=False, random_state=None):
        w = np.ones(len(X)) if self.weights is None else self.weights
        return X + (t_to - t_from) * self.speed, w


SOURCE = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [3.0, 3.0]])


@pytest.mark.parametrize("metric, distance", [("energy", energy_distance),
                                              ("wasserstein", wasserstein_distance)])
def test_the_score_is_minus_the_distance_of_the_pushed_snapshot(metric, distance):
    observed = SOURCE[::-1] + [0.5, 0.0]
    score = held_out_time_scorer(metric)(_Shift(SOURCE), observed, np.ones(4))
    assert score == pytest.approx(-distance(SOURCE + [1.0, 0.0], observed))
    assert score < 0
    perfect = held_out_time_scorer(metric)(_Shift(SOURCE), SOURCE + [1.0, 0.0], np.ones(4))
    assert perfect == pytest.approx(0.0, abs=1e-12) and perfect > score  # greater is better


def test_growth_weights_enter_both_distances():
    weights = np.array([5.0, 1.0, 1.0, 5.0])
    observed = np.repeat(SOURCE, [5, 1, 1, 5], axis=0) + [1.0, 0.0]  # the weighted law
    model = _Shift(SOURCE, weights)
    w1 = held_out_time_scorer("wasserstein")(model, observed, np.ones(12))
    assert w1 == pytest.approx(-wasserstein_distance(SOURCE + [1.0, 0.0], observed,
                                                     x_weights=weights))
    assert w1 == pytest.approx(0.0, abs=1e-12)  # the weighted law is the held-out one
    # energy takes no weights: systematic resampling of 4 draws ∝ (5, 1, 1, 5) takes
    # the rows at cumulative positions 1/8, 3/8, 5/8, 7/8 of (5, 6, 7, 12)/12: 0, 0, 3, 3.
    energy = held_out_time_scorer("energy")(model, observed, np.ones(12))
    assert energy == pytest.approx(-energy_distance(SOURCE[[0, 0, 3, 3]] + [1.0, 0.0],
                                                    observed))
    unweighted = held_out_time_scorer("energy")(_Shift(SOURCE), observed, np.ones(12))
    assert energy != pytest.approx(unweighted)


def test_a_fold_of_several_times_scores_each_and_averages():
    observed = SOURCE + [0.5, 0.0]
    scorer, model = held_out_time_scorer(), _Shift(SOURCE)
    at_1, at_2 = (scorer(model, observed + [t - 1.0, 0.0], np.full(4, t)) for t in (1.0, 2.0))
    both = scorer(model, np.vstack([observed, observed + [1.0, 0.0]]), np.repeat([1.0, 2.0], 4))
    assert both == pytest.approx((at_1 + at_2) / 2)


def test_max_samples_keeps_evenly_spaced_rows():
    source = np.arange(20.0).reshape(10, 2)
    score = held_out_time_scorer(max_samples=4)(_Shift(source), source, np.ones(10))
    kept = source[[0, 3, 6, 9]]
    assert score == pytest.approx(-energy_distance(kept + [1.0, 0.0], kept))


def test_the_scorer_refuses_what_it_cannot_score():
    scorer = held_out_time_scorer()
    X, t = _drift(20)
    with pytest.raises(TypeError, match="got ActionMatchingDensity, which has no push"):
        scorer(ActionMatchingDensity(), X, t)
    with pytest.raises(NotFittedError):
        scorer(ActionMatchingRegressor(), X, t)
    with pytest.raises(ValueError, match="'metric' parameter of held_out_time_scorer must be"):
        held_out_time_scorer("mmd")
    with pytest.raises(ValueError, match="'random_state' parameter"):
        held_out_time_scorer(random_state=None)  # a seed is what makes it repeatable
    assert repr(scorer) == "held_out_time_scorer(metric='energy', max_samples=1000, " \
        "random_state=0)"


# --------------------------------------------------------------------------- #
# held_out_time_scorer on the estimators
# --------------------------------------------------------------------------- #


def test_the_score_of_a_fitted_model_is_its_push_of_the_first_snapshot():
    X, t = _drift()
    am = ActionMatchingRegressor(max_iter=30, **TINY).fit(X[t != 1], t[t != 1])
    pushed = am.push(am.source_samples_, 0.0, 1.0)
    for metric, distance in [("energy", energy_distance), ("wasserstein", wasserstein_distance)]:
        score = held_out_time_scorer(metric)(am, X[t == 1], t[t == 1])
        assert score == pytest.approx(-distance(pushed, X[t == 1]), rel=1e-6)


def test_a_model_fitted_on_a_dataframe_scores_one_without_warnings():
    pd = pytest.importorskip("pandas")
    X, t = _drift(40)
    frame = pd.DataFrame(X, columns=["gene_a", "gene_b"])
    am = ActionMatchingRegressor(max_iter=5, **TINY).fit(frame[t != 1], t[t != 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. no "X does not have valid feature names"
        score = held_out_time_scorer()(am, frame[t == 1], pd.Series(t[t == 1]))
    assert score == held_out_time_scorer()(am, X[t == 1], t[t == 1])


def test_stochastic_pushes_score_the_same_twice_and_follow_the_seed():
    X, t = _drift()
    eam = EntropicActionMatching(max_iter=30, sigma=0.5, **TINY).fit(X[t != 1], t[t != 1])
    scores = [held_out_time_scorer(random_state=seed)(eam, X[t == 1], t[t == 1])
              for seed in (0, 0, 1)]
    assert scores[0] == scores[1]
    assert scores[0] != scores[2]  # the seed sets the noise


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_a_trained_model_scores_better_than_an_untrained_one(Estimator):
    X, t = _drift()
    scores = {max_iter: cross_val_score(Estimator(max_iter=max_iter, **TINY), X, t,
                                        cv=LeaveOneTimeOut(), scoring=held_out_time_scorer())
              for max_iter in (2, 300)}
    # The untrained field barely moves the points (the truth moved 2 to the right,
    # energy distance about 1.4); the trained one lands on the held-out snapshot.
    assert scores[2].shape == (1,) and scores[2][0] < -1.0
    assert scores[300][0] > -0.1


def test_grid_search_picks_the_adequate_budget():
    X, t = _drift(times=(0.0, 1.0, 2.0, 3.0), n_per_time=60)
    search = GridSearchCV(ActionMatchingRegressor(**TINY), {"max_iter": [2, 300]},
                          cv=LeaveOneTimeOut(), scoring=held_out_time_scorer("wasserstein"))
    search.fit(X, t)
    assert search.n_splits_ == 2  # t = 1 and t = 2 held out
    assert search.best_params_ == {"max_iter": 300}
    worst, best = sorted(search.cv_results_["mean_test_score"])
    assert best > -0.5 > -1.0 > worst  # W1: the truth moves 2 per unit time
