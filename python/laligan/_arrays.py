"""Inputs made ready for the extension: float arrays, C-contiguous, and config overrides."""

import json

import numpy as np


def floats(a, name, dtype):
    """``a`` as a C-contiguous array of ``dtype`` (float32 or float64): returned as is when it already is
    one (no copy); integers, booleans and other float widths are converted; anything else is refused."""
    arr = np.asarray(a)
    if arr.dtype == dtype and arr.flags.c_contiguous:
        return arr
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name}: expected real numbers, found an array of dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=dtype)


def _toml(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, str)):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, np.generic):
        return _toml(v.item())
    raise TypeError(f"cannot write {v!r} ({type(v).__name__}) as a config value")


def overrides(values):
    """``{"train.epochs": 5}`` as the CLI's ``--set`` strings (``train.epochs=5``)."""
    if values is None:
        return []
    if not isinstance(values, dict):
        raise TypeError(f"set: expected a dict of config keys to values, found {type(values).__name__}")
    return [f"{k}={_toml(v)}" for k, v in values.items()]


def section(values):
    """A config section as TOML text from keyword values (None values are left out)."""
    return "\n".join(f"{k} = {_toml(v)}" for k, v in values.items() if v is not None)
