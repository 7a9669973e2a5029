"""The scikit-learn face every estimator shares (private).

- ``base``: :class:`BaseActionMatching`, the snapshot estimators' parameters, ``fit``
  and transformer methods;
- ``inference``: what a fitted snapshot estimator answers (pushes, velocities,
  samples, scores) and the chunked push loop the density reuses;
- ``fitting``: one fit preparation (``prepare_fit`` → ``PreparedFit``), the warm-start
  decision, the fit tail (``train_and_store``) and the fitted attributes;
- ``progress``: callbacks and progress bars around the training loop;
- ``persistence``: fitted state as NumPy arrays (pickle, joblib, skops) and versions;
- ``validation``: checks of user input, with messages that name the argument;
- ``constraints``: the parameter constraints of every estimator with a network;
- ``potential_param``: the ``potential`` parameter (custom networks, ``potential__*``).
"""
