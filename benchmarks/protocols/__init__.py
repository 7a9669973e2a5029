"""The benchmark protocols, each a module run by :mod:`benchmarks.run` as a section.

- :mod:`.rollout`: the chained rollout (with weights) shared by the chained protocols;
- :mod:`.accuracy`: LOO, whole path, Var-RUOT chain and hold-one-out chain, velocity;
- :mod:`.speed`: training throughput, step breakdown, inference, scaling, OT cost;
- :mod:`.tuned`: chained-rollout W1 on real data with more compute than the defaults.
"""
