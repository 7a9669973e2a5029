"""From observed rows to training batches (private).

- ``snapshots``: :class:`Snapshots`, the data container, and ``relative_steps``;
- ``paths``: paths between snapshots and the samplers that draw batches on them;
- ``noise_paths``: paths from N(0, I) to a table (the generative wing), their noise
  posterior and the conditional sampler;
- ``couplings``: independent, exact-OT and entropic-OT pairings (POT);
- ``weights``: per-row masses of unbalanced dynamics;
- ``units``: the model's units (centre, scale, time origin and span);
- ``gaussian_base``: the Gaussian field of the snapshots' moments a network can learn
  a residual on.
"""
