"""Tests of sklearn_am._numerics.device: resolving devices and moving arrays."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal

from sklearn_am._numerics.device import resolve_device, to_numpy, to_tensor, torch_generator


def test_auto_resolves_to_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")


def test_auto_resolves_to_cuda_when_available(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_auto_is_cpu_here():
    assert resolve_device("auto").type == "cpu"


@pytest.mark.parametrize("device", ["cpu", "cpu:0"])
def test_cpu_strings(device):
    assert resolve_device(device).type == "cpu"


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "", "tpu please"])
def test_invalid_device_string_raises_with_the_fix(device):
    with pytest.raises(ValueError, match="not a torch device; use 'auto', 'cpu'"):
        resolve_device(device)


@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_without_cuda_raises_with_the_fix(device, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"device='auto' or device='cpu'"):
        resolve_device(device)


def test_to_tensor_copies_read_only_arrays():
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    X.setflags(write=False)
    tensor = to_tensor(X, torch.device("cpu"))
    assert tensor.dtype == torch.float32 and tensor.shape == (4, 3)
    assert_array_equal(tensor.numpy(), X)
    tensor += 1  # writable, and not a view of X
    assert X[0, 0] == 0.0


def test_to_tensor_float64_and_independent_copy():
    X = np.random.RandomState(0).randn(5, 2)
    tensor = to_tensor(X, "cpu", dtype=torch.float64)
    assert tensor.dtype == torch.float64
    assert_array_equal(tensor.numpy(), X)
    X[0, 0] = 100.0
    assert tensor[0, 0] != 100.0


def test_to_numpy_round_trip():
    tensor = torch.randn(3, 2, requires_grad=True)
    out = to_numpy(tensor * 2, np.float64)
    assert out.dtype == np.float64 and isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, (tensor * 2).detach().numpy(), rtol=1e-6)


def test_torch_generator_is_seeded():
    a = torch.rand(4, generator=torch_generator(7, "cpu"))
    b = torch.rand(4, generator=torch_generator(np.int64(7), torch.device("cpu")))
    assert torch.equal(a, b)
    assert not torch.equal(a, torch.rand(4, generator=torch_generator(8, "cpu")))


def test_module_on_never_moves_the_original():
    from sklearn_am._numerics.device import module_on

    net = torch.nn.Linear(2, 1)
    assert module_on(net, torch.device("cpu")) is net
    moved = module_on(net, "meta")  # any other device: a moved copy, original untouched
    assert moved is not net
    assert next(moved.parameters()).device.type == "meta"
    assert next(net.parameters()).device.type == "cpu"


def test_mps_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="'cpu' and 'cuda' devices only"):
        resolve_device("mps")
