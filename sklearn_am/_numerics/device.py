"""Device handling: the only place that turns a user's ``device`` into a torch device.

Nothing here keeps state. Fitted modules stay on the CPU (so pickles load on any
machine); estimators move them to the resolved device as a local, per call.
"""

import copy
from contextlib import contextmanager

import numpy as np
import torch


def resolve_device(device):
    """Turn the ``device`` parameter into a :class:`torch.device`.

    Parameters
    ----------
    device : str
        ``"auto"`` (CUDA when available, else CPU), or any string
        :class:`torch.device` accepts, such as ``"cpu"``, ``"cuda"`` or ``"cuda:1"``.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If the string is not a device torch knows, or names CUDA on a machine
        without it.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', "
            "'cuda' or 'cuda:N'."
        ) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} asks for CUDA, but torch.cuda.is_available() is "
            "False on this machine; use device='auto' or device='cpu'."
        )
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(
            f"device={device!r}: sklearn-am runs on 'cpu' and 'cuda' devices only "
            "(its time grids are float64, which MPS lacks); use device='auto' or 'cpu'."
        )
    return resolved


def to_tensor(X, device, dtype=torch.float32):
    """Copy an array to a tensor of ``dtype`` on ``device``.

    A copy is always made: arrays that joblib hands to workers are read-only
    memory maps, which ``torch.from_numpy`` refuses to wrap.
    """
    return torch.tensor(np.asarray(X), dtype=dtype, device=device)


def module_on(module, device):
    """``module`` itself if it already lives on ``device``, else a copy moved there.

    ``nn.Module.to`` works in place: calling it on a fitted network would leave the
    estimator's state on the GPU (and its pickles unloadable without CUDA). The
    copy is a local of the call that needs it.
    """
    current = next(module.parameters(), torch.empty(0)).device
    if current == torch.device(device) or (current.type == torch.device(device).type == "cpu"):
        return module
    return copy.deepcopy(module).to(device)


def to_numpy(tensor, dtype):
    """Copy a tensor back to the host as a NumPy array of ``dtype``."""
    return tensor.detach().to("cpu").numpy().astype(dtype, copy=False)


#: Seeds drawn for torch generators (and noise) lie in [0, MAX_SEED).
MAX_SEED = np.iinfo(np.int32).max
#: Rows pushed through the network at once at inference (pushes, velocities, draws of
#: the generative wing): memory beyond inputs and outputs stays flat in the number of rows.
INFERENCE_CHUNK = 16_384


def torch_generator(seed, device):
    """A torch random generator on ``device`` seeded with ``seed``."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator


@contextmanager
def explain_out_of_memory(name, during, advice):
    """Re-raise a device out-of-memory error with what to change.

    Parameters
    ----------
    name : str
        The estimator, for the message.
    during : str
        What was running ("fit", "push", ...).
    advice : str
        The parameter to lower, e.g. ``"batch_size (now 256)"``.
    """
    try:
        yield
    except torch.OutOfMemoryError as exc:
        raise torch.OutOfMemoryError(
            f"{name}: the device ran out of memory during {during}. Lower {advice}, or run "
            f'on the CPU with device="cpu" (set_params(device="cpu")). Original error: {exc}'
        ) from exc
