"""ActionMatchingImputer: fill missing entries with draws from the learnt conditional law."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.impute import MissingIndicator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._density import ActionMatchingDensity
from ._estimator.validation import check_numeric_columns, naming
from ._numerics.device import MAX_SEED
from ._numerics.training import TrainingInterruptedWarning
from .utils._sklearn import Interval, _check_feature_names_in, _fit_context, _get_mask

__all__ = ["ActionMatchingImputer"]

#: Training steps of each refit after the first, as a share of the density's max_iter.
REFIT_SHARE = 0.25


class ActionMatchingImputer(TransformerMixin, BaseEstimator):
    """Impute missing values with draws from a generative Action Matching model.

    An :class:`~sklearn_am.ActionMatchingDensity` learns a path from N(0, I) to
    the rows, gaps included; each missing entry is then filled by the density's
    :meth:`~sklearn_am.ActionMatchingDensity.sample_conditional`: running the
    learnt field for the missing entries while the observed entries ride their
    own noised path (inpainting by replacement, as RePaint does for diffusion
    models), so a filled row is a draw from the data's conditional law given
    its observed entries, not a regression to the mean.

    Training needs no complete row: the first fit sees the gaps filled by
    draws from each column's observed values, and each of ``n_rounds`` refits
    (warm-started, a quarter of ``max_iter`` each) sees them filled by the
    current model's conditional draws (Monte Carlo EM).

    Parameters
    ----------
    missing_values : int, float, np.nan or None, default=np.nan
        The placeholder of a missing value; every entry equal to it is imputed.
    density : ActionMatchingDensity or None, default=None
        The generative model (cloned at fit; its ``path`` must be ``"linear"`` or
        ``"vp"``). None: ``ActionMatchingDensity()`` with its defaults. When its
        ``random_state`` is None it is seeded from ``random_state``.
    n_imputations : int, default=1
        Conditional draws averaged per missing entry by ``transform``. 1 gives
        one draw from the conditional law (use different ``random_state`` for
        multiple imputation); more give an estimate of the conditional mean,
        which lowers the error per entry and narrows the imputed columns.
    n_rounds : int, default=2
        Refits of the density on the training rows re-imputed by the current
        model, after the first fit. Skipped, with a warning, when X has no
        missing value; Ctrl-C during any round stops them all.
    n_steps : int, default=50
        Euler–Maruyama steps of the conditional sampler over τ ∈ [0, 1].
    churn : float, default=1.0
        Noise η of the conditional sampler's stochastic differential equation
        (same marginals as the field's flow; 0: the ODE). Noise lets the drawn
        entries correct a start that disagrees with the observed ones.
    langevin_steps : int, default=20
        Langevin steps at τ = 1 after the path, on the missing entries only, with
        the score −E[ε | x_1]/b read off the learnt field and step b²/2: they
        pull the draw towards the conditional law given the observed entries,
        which replacement alone misses (its draws of a correlated Gaussian
        regress halfway to the mean). More steps sharpen the draws further and,
        with an imperfect field, past the truth (measured in the note of #20).
    add_indicator : bool, default=False
        Append a :class:`~sklearn.impute.MissingIndicator`'s columns to the output.
    keep_empty_features : bool, default=False
        Keep the features with no observed value at fit, imputed with 0;
        by default they are dropped from the output. Such a column comes back
        as 0 in every row, observed entries included (as in
        :class:`~sklearn.impute.KNNImputer`): the model knows nothing of it.
    random_state : int, RandomState instance or None, default=None
        Seeds the fit and the draws of ``transform``: an int gives the same
        imputations on every call; each row's draws depend on the row alone.

    Attributes
    ----------
    density_ : ActionMatchingDensity
        The fitted generative model, on the features with observed values.
    indicator_ : MissingIndicator or None
        The indicator appended when ``add_indicator`` is True.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string feature names.

    See Also
    --------
    sklearn.impute.IterativeImputer : Round-robin regression of each feature.
    sklearn.impute.KNNImputer : Imputation by nearest neighbours.
    ActionMatchingDensity : The generative model underneath.

    References
    ----------
    Neklyudov, K., Brekelmans, R., Severo, D., and Makhzani, A. (2023).
    Action Matching: Learning Stochastic Dynamics from Samples. ICML.

    Lugmayr, A., Danelljan, M., Romero, A., Yu, F., Timofte, R., and Van Gool,
    L. (2022). RePaint: Inpainting using Denoising Diffusion Probabilistic
    Models. CVPR.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_am import ActionMatchingDensity, ActionMatchingImputer
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 3)) @ [[1.0, 0.8, 0.0], [0.0, 0.6, 0.0], [0.0, 0.0, 1.0]]
    >>> X[rng.rand(*X.shape) < 0.2] = np.nan
    >>> imputer = ActionMatchingImputer(
    ...     density=ActionMatchingDensity(hidden_layer_sizes=(32, 32), max_iter=200),
    ...     random_state=0).fit(X)
    >>> filled = imputer.transform(X)
    >>> bool(np.isnan(filled).any())
    False
    """

    _parameter_constraints: dict = {
        "missing_values": [Real, None],
        "density": [ActionMatchingDensity, None],
        "n_imputations": [Interval(Integral, 1, None, closed="left")],
        "n_rounds": [Interval(Integral, 0, None, closed="left")],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "churn": [Interval(Real, 0, None, closed="left")],
        "langevin_steps": [Interval(Integral, 0, None, closed="left")],
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        missing_values=np.nan,
        density=None,
        n_imputations=1,
        n_rounds=2,
        n_steps=50,
        churn=1.0,
        langevin_steps=20,
        add_indicator=False,
        keep_empty_features=False,
        random_state=None,
    ):
        self.missing_values = missing_values
        self.density = density
        self.n_imputations = n_imputations
        self.n_rounds = n_rounds
        self.n_steps = n_steps
        self.churn = churn
        self.langevin_steps = langevin_steps
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _validate(self, X, reset):
        allow = "allow-nan" if _nan_placeholder(self.missing_values) else True
        with naming("X"):
            check_numeric_columns(X)
            X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32],
                              ensure_all_finite=allow, copy=True)
        return X, _get_mask(X, self.missing_values)

    # -------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Learn the rows' law from X, gaps included.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with missing entries marked by ``missing_values``.
        y : None
            Ignored; present for scikit-learn's API.

        Returns
        -------
        self : object
            The fitted imputer.
        """
        X, mask = self._validate(X, reset=True)
        rng = check_random_state(self.random_state)
        density = clone(self._density_template())
        if callable(density.path):
            raise ValueError(
                "ActionMatchingImputer needs a density with a built-in path ('linear' or "
                f"'vp'); got the callable {density.path!r}. Its conditional sampler uses the "
                "path's coefficients."
            )
        if density.random_state is None:
            density.set_params(random_state=rng.randint(MAX_SEED))
        observed = ~mask
        self._valid = observed.any(axis=0)
        self.indicator_ = (MissingIndicator(missing_values=self.missing_values,
                                            error_on_new=False).fit(X)
                           if self.add_indicator else None)
        X = X[:, self._valid]
        known = observed[:, self._valid]
        table = _hot_deck(X, known, rng)
        n_rounds = self.n_rounds
        if n_rounds and known.all():
            warnings.warn(
                f"X has no missing value (missing_values={self.missing_values!r}): the "
                f"n_rounds={n_rounds} refits, which re-impute the gaps, were skipped and the "
                "density is fitted once on the complete rows (transform still fills the "
                "gaps of new rows). Set n_rounds=0 to silence this, or check "
                "missing_values.",
                UserWarning,
            )
            n_rounds = 0
        refit_iter = max(1, int(round(REFIT_SHARE * density.max_iter)))
        for round_ in range(n_rounds + 1):
            if round_:
                try:
                    table = self._draw(density, X, known, rng.randint(MAX_SEED))
                except FloatingPointError as exc:
                    raise FloatingPointError(
                        f"Re-imputing the training rows before refit {round_} of "
                        f"{n_rounds} failed: {exc} Or set n_rounds=0."
                    ) from None
                density.set_params(warm_start=True, max_iter=refit_iter)
            if _fit_until_interrupted(density, table):
                break  # Ctrl-C: keep the model as it stands, skip the other rounds
        density.set_params(warm_start=False, max_iter=self._density_template().max_iter)
        self.density_ = density
        return self

    def _density_template(self):
        return ActionMatchingDensity() if self.density is None else self.density

    # ------------------------------------------------------------ inference
    def _draw(self, density, X, known, seed):
        """One conditional draw of the unknown entries of X (the features of the density);
        the entries where ``known`` is False are ignored, whatever they hold."""
        return density.sample_conditional(
            np.where(known, X, np.nan), n_steps=self.n_steps, churn=self.churn,
            langevin_steps=self.langevin_steps, random_state=seed)

    def transform(self, X):
        """Fill the missing entries of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with missing entries marked by ``missing_values``.

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features_out)
            X with every missing entry drawn from its conditional law given the
            row's observed entries (averaged over ``n_imputations`` draws);
            observed entries are returned exactly. Features with no observed
            value at fit are dropped unless ``keep_empty_features`` (then 0 in
            every row, observed entries included), and the indicator's columns
            follow when ``add_indicator``.

        Raises
        ------
        ValueError
            If a row lies more than 1e6 of the training data's scales from its
            centre (other units than at fit?).
        """
        check_is_fitted(self)
        X, mask = self._validate(X, reset=False)
        indicator = None if self.indicator_ is None else self.indicator_.transform(X)
        valid = self._valid
        known = ~mask[:, valid]
        seed = check_random_state(self.random_state).randint(MAX_SEED)
        draws = [self._draw(self.density_, X[:, valid], known, seed + i)
                 for i in range(self.n_imputations)]
        # The mean of equal values need not be exact: observed entries come back as given.
        X[:, valid] = np.where(known, X[:, valid], np.mean(draws, axis=0))
        if self.keep_empty_features:
            X[:, ~valid] = 0.0
        else:
            X = X[:, valid]
        if indicator is not None:
            X = np.hstack([X, indicator.astype(X.dtype)])
        return X

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names; default ``feature_names_in_`` or ``x0``, ``x1``, ….

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self, "n_features_in_")
        names = _check_feature_names_in(self, input_features)
        if not self.keep_empty_features:
            names = names[self._valid]
        if self.indicator_ is not None:
            names = np.concatenate([names, self.indicator_.get_feature_names_out(
                _check_feature_names_in(self, input_features))])
        return names


def _nan_placeholder(value):
    return value is None or (isinstance(value, float) and np.isnan(value))


def _fit_until_interrupted(density, table):
    """``density.fit(table)``; True if the user interrupted its training (Ctrl-C).

    The interruption's warning is passed on, as are the fit's other warnings.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        density.fit(table)
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename,
                               warning.lineno, source=warning.source)
    return any(issubclass(w.category, TrainingInterruptedWarning) for w in caught)


def _hot_deck(X, known, rng):
    """X with each missing entry drawn from its column's observed values (independently)."""
    out = np.array(X, dtype=np.float64)
    for j in range(X.shape[1]):
        missing = ~known[:, j]
        if missing.any():
            values = X[known[:, j], j]
            out[missing, j] = values[rng.randint(len(values), size=missing.sum())]
    return out
