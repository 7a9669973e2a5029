"""The training loss per step, and validation checks where there are any."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._estimator.validation import check_positive_int
from ._common import check_matplotlib, fill_plot_docs

#: Label of the loss axis: the Action Matching loss has no floor at zero.
LOSS_LABEL = "AM loss\n(unbounded below: negative is normal)"


def _moving_average(values, window):
    """Mean of each run of ``window`` consecutive values (``len - window + 1`` of them)."""
    cumulative = np.cumsum(np.concatenate([[0.0], values]))
    return (cumulative[window:] - cumulative[:-window]) / window


@fill_plot_docs
class LossCurveDisplay:
    """The training loss per optimisation step, with validation checks if any.

    The Action Matching loss is unbounded below (it is the action gap minus a
    constant), so a negative loss is normal: watch its trend, and held-out
    scores, rather than its distance to zero. Validation scores (greater is
    better, ``score`` being minus the loss) are drawn as minus the score, on the
    loss's scale.

    {{how_to_create}}

    Parameters
    ----------
    loss_curve : array-like of shape (n_iter,)
        Training loss at each step.
    validation_scores : array-like of shape (n_checks,), default=None
        Validation score (greater is better) at each check; none when None.
    validation_steps : array-like of shape (n_checks,), default=None
        Step of each validation check (1 is the first step); checks spread
        evenly over the steps when None.

    Attributes
    ----------
    loss_line_ : matplotlib Line2D
        The loss at each step (faint when smoothed).
    smoothed_line_ : matplotlib Line2D or None
        The moving average of the loss; None without smoothing.
    validation_line_ : matplotlib Line2D or None
        Minus the validation scores; None without them.
    {{ax_figure_}}

    See Also
    --------
    LossCurveDisplay.from_estimator : Plot a fitted estimator's ``loss_curve_``.

    Examples
    --------
    >>> from sklearn_am.plotting import LossCurveDisplay
    >>> display = LossCurveDisplay(loss_curve=[0.5, -0.1, -0.4, -0.5, -0.55],
    ...                            validation_scores=[0.2, 0.5],
    ...                            validation_steps=[2, 4]).plot(smoothing=2)
    >>> display.validation_line_.get_ydata().tolist()
    [-0.2, -0.5]
    >>> len(display.smoothed_line_.get_xdata())
    4
    """

    def __init__(self, *, loss_curve, validation_scores=None, validation_steps=None):
        self.loss_curve = loss_curve
        self.validation_scores = validation_scores
        self.validation_steps = validation_steps

    def plot(self, ax=None, *, smoothing=None, loss_kw=None, validation_kw=None):
        """Plot the loss against the step.

        Parameters
        ----------
        {{ax}}
        smoothing : int, default=None
            Window, in steps, of a moving average drawn over the raw loss
            (which is then drawn faint); no smoothing when None.
        loss_kw : dict, default=None
            Keyword arguments for ``ax.plot`` of the loss.
        validation_kw : dict, default=None
            Keyword arguments for ``ax.plot`` of the validation checks.

        Returns
        -------
        display : LossCurveDisplay
            The object, with ``ax_``, ``figure_``, ``loss_line_``,
            ``smoothed_line_`` and ``validation_line_`` set.
        """
        check_matplotlib(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        loss = np.asarray(self.loss_curve, dtype=float).ravel()
        if loss.size == 0:
            raise ValueError("loss_curve is empty: the estimator took no step.")
        steps = np.arange(1, loss.size + 1)
        if smoothing is not None:
            smoothing = min(check_positive_int(smoothing, "smoothing"), loss.size)
        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 4.0))

        loss_kw = {"color": "tab:blue", "linewidth": 1.0, "label": "training loss",
                   **(loss_kw or {})}
        self.smoothed_line_ = None
        if smoothing is None:
            self.loss_line_, = ax.plot(steps, loss, **loss_kw)
        else:
            self.loss_line_, = ax.plot(steps, loss, **{**loss_kw, "alpha": 0.25,
                                                       "label": "_raw loss"})
            self.smoothed_line_, = ax.plot(
                steps[smoothing - 1:], _moving_average(loss, smoothing),
                **{**loss_kw, "linewidth": 1.8,
                   "label": f"{loss_kw['label']} (mean of {smoothing} steps)"})

        self.validation_line_ = None
        checks = self._validation(loss.size)
        if checks is not None:
            validation_kw = {"color": "tab:red", "marker": "o", "markersize": 4,
                             "linewidth": 1.5, "label": "validation (− score)",
                             **(validation_kw or {})}
            self.validation_line_, = ax.plot(checks[0], -checks[1], **validation_kw)

        ax.set_xlabel("training step")
        ax.set_ylabel(LOSS_LABEL)
        ax.set_title("Training loss (lower is better)")
        ax.legend(loc="best", fontsize="small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _validation(self, n_iter):
        """``(steps, scores)`` of the validation checks, or None."""
        if self.validation_scores is None:
            return None
        scores = np.asarray(self.validation_scores, dtype=float).ravel()
        if scores.size == 0:
            return None
        if self.validation_steps is None:
            steps = np.linspace(n_iter / scores.size, n_iter, scores.size)
        else:
            steps = np.asarray(self.validation_steps, dtype=float).ravel()
            if steps.shape != scores.shape:
                raise ValueError(
                    f"validation_steps has {steps.size} entries for {scores.size} "
                    "validation scores."
                )
        return steps, scores

    @classmethod
    def from_estimator(cls, estimator, *, smoothing=None, ax=None, loss_kw=None,
                       validation_kw=None):
        """Plot a fitted estimator's ``loss_curve_`` and validation checks.

        Validation scores are read from ``validation_scores_`` (brought to the
        model units of ``loss_curve_``) and their steps from ``validation_steps_``
        where the estimator has them (spread evenly over the steps without
        ``validation_steps_``; no validation curve without scores).

        Parameters
        ----------
        estimator : fitted Action Matching estimator
            Anything with ``loss_curve_``, such as
            :class:`~sklearn_am.ActionMatchingRegressor`.
        smoothing : int, default=None
            Window of a moving average of the loss; none when None.
        {{ax}}
        loss_kw, validation_kw : dict, default=None
            Passed to :meth:`plot`.

        {{from_estimator_example:display=LossCurveDisplay;data=n_samples=50, random_state=0}}
        >>> display = LossCurveDisplay.from_estimator(est, smoothing=10)
        >>> len(display.loss_line_.get_xdata()), display.validation_line_ is not None
        (50, True)
        """
        check_matplotlib(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        scores = getattr(estimator, "validation_scores_", None)
        if scores is not None and hasattr(estimator, "x_scale_") and hasattr(estimator,
                                                                              "time_scale_"):
            # validation_scores_ are in the user's units, loss_curve_ in the model's:
            # a model-unit loss times a²/T is a user-unit one.
            action = estimator.x_scale_**2 / estimator.time_scale_
            scores = [score / action for score in scores]
        viz = cls(loss_curve=estimator.loss_curve_, validation_scores=scores,
                  validation_steps=getattr(estimator, "validation_steps_", None))
        return viz.plot(ax=ax, smoothing=smoothing, loss_kw=loss_kw,
                        validation_kw=validation_kw)
