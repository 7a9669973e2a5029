"""Numerics with no knowledge of estimators or data (private).

- ``losses``: the Action Matching objectives and their Laplacians;
- ``solvers``: ODE and SDE integrators (fixed-step and adaptive);
- ``training``: the optimiser loop, weight averaging, early stopping, divergence;
- ``noise``: per-row, counter-based noise streams (order-independent draws);
- ``device``: devices, tensor conversion, chunk sizes and out-of-memory advice.
"""
