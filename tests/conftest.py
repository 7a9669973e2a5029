"""Shared fixtures: tiny, fast settings for tests that only exercise the API."""

import pytest
import torch

# Two threads: the CI machine has two cores; keep test timings stable.
torch.set_num_threads(2)

#: Small networks and few steps: for API and plumbing tests, not accuracy tests.
FAST = dict(hidden_layer_sizes=(16, 16), max_iter=20, batch_size=32, n_steps=10,
            random_state=0)


@pytest.fixture
def fast_params():
    return dict(FAST)
