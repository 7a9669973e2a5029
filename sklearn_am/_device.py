"""Device handling: the only place that turns a user's ``device`` into a torch device.

Nothing here keeps state. Fitted modules stay on the CPU (so pickles load on any
machine); estimators move them to the resolved device as a local, per call.
"""

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
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"device={device!r} asks for MPS, which this machine does not have; "
            "use device='auto' or device='cpu'."
        )
    return resolved


def to_tensor(X, device, dtype=torch.float32):
    """Copy an array to a tensor on ``device``.

    A copy is always made: arrays that joblib hands to workers are read-only
    memory maps, which ``torch.from_numpy`` refuses to wrap.
    """
    return torch.as_tensor(np.array(X, dtype=np.float32 if dtype == torch.float32 else np.float64), device=device)


def to_numpy(tensor, dtype):
    """Copy a tensor back to the host as a NumPy array of ``dtype``."""
    return tensor.detach().to("cpu").numpy().astype(dtype, copy=False)


def torch_generator(seed, device):
    """A torch random generator on ``device`` seeded with ``seed``."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator
