"""Datasets: generated from the built-in recipes, as numpy arrays."""

from . import _laligan
from ._arrays import overrides


def generate(recipe, set=None):
    """Generates a dataset from a recipe (a built-in name such as ``"pendulum"``, or a recipe TOML
    file), with ``set`` overriding its keys (``{"pendulum.n_train": 10}``). Returns
    ``{split: {"x": ..., "dx": ..., "t": ...}}`` with float32 arrays shaped as in the file: ``x`` and
    ``dx`` ``[trajectories, steps, obs...]``, ``t`` ``[trajectories, steps]``."""
    return _laligan.generate(str(recipe), overrides(set))
