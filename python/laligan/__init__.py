"""laligan: Latent LieGAN — latent-space symmetry discovery, symmetry-aware equation discovery and
long-horizon forecasting, over the Rust library.

    import numpy as np, laligan
    m = laligan.load("models/pendulum")       # folder, .safetensors, or "hf:owner/name[@rev]"
    z = m.encode(x)                           # [..., obs] -> [..., latent], eval mode
    xh = m.decode(z)
    m.generators, m.scores
    fit = laligan.sindy.fit(z, dz, library="1 + poly(3)", threshold=0.05, generators=m.generators)
    laligan.train("models/quickstart/config.toml", out="runs/q", set={"train.epochs": 5})
    ds = laligan.data.generate("pendulum", set={"pendulum.n_train": 10})
    f = laligan.forecast(m, x0, steps=500)
"""

import json

import numpy as np

from . import _laligan, data, sindy
from ._laligan import LaliganError
from ._arrays import floats, overrides

__all__ = ["LaliganError", "Model", "data", "forecast", "load", "sindy", "train"]


class Model:
    """A trained model: encoder, decoder, generators and, when its folder has them, latent equations."""

    def __init__(self, inner):
        self._inner = inner

    def encode(self, x):
        """Latents z = φ(x) in eval mode: ``[..., obs...]`` -> ``[..., latent]`` (float32)."""
        return self._inner.encode(floats(x, "x", np.float32))

    def decode(self, z):
        """Observations ψ(z) in eval mode: ``[..., latent]`` -> ``[..., obs...]`` (float32)."""
        return self._inner.decode(floats(z, "z", np.float32))

    @property
    def generators(self):
        """The learned (masked) Lie algebra generators, ``[n, dim, dim]`` (float64)."""
        gens = self._inner.generator_list()
        if gens and all(g.shape == gens[0].shape for g in gens):
            return np.stack(gens)
        return gens

    @property
    def scores(self):
        """Scores of the model as its training summary gives them: ``imag_ratio``, ``skew_ratio`` (1 = a
        rotation) and ``orbit_cv`` as lists (one value per generator), ``recon_mse``, ``disc_acc``,
        ``epochs``, ...; a model without a summary has ``imag_ratio`` and ``skew_ratio`` from its
        weights."""
        return json.loads(self._inner.scores_json())

    @property
    def obs(self):
        """The shape of one observation."""
        return tuple(self._inner.obs)

    @property
    def latent_dim(self):
        """The latent dimension."""
        return self._inner.latent_dim

    @property
    def config(self):
        """The model's experiment config, as TOML text."""
        return self._inner.config

    def __repr__(self):
        return repr(self._inner)


def load(spec):
    """Loads a model: a folder, a ``.safetensors`` file, or ``"hf:owner/name[@rev]"`` from the local hub
    cache."""
    return Model(_laligan.load(str(spec)))


def train(config, out, set=None, force=False, resume=False, init=None):
    """Trains LaLiGAN from the config file ``config`` into the run folder ``out``, as ``laligan train``
    does (same files, same numbers for the same config and seed). ``set`` overrides config keys, e.g.
    ``{"train.epochs": 5}``. Ctrl-C stops at the next batch with a checkpoint saved and raises
    KeyboardInterrupt; ``resume=True`` continues. ``init`` names a model to start from instead of a
    random initialization (fine-tuning, e.g. of a converted reference checkpoint). Returns the run's
    summary (a dict)."""
    call = f"laligan.train({str(config)!r}, out={str(out)!r}"
    call += "".join(
        f", {k}={v!r}" for k, v in [("set", set), ("force", force), ("resume", resume), ("init", init)] if v
    )
    return json.loads(
        _laligan.train(
            str(config),
            str(out),
            overrides(set),
            force,
            resume,
            None if init is None else str(init),
            call + ")",
        )
    )


def forecast(model, x0, steps, dt=None):
    """Decoded forecast from observations ``x0`` (``[obs...]`` or ``[n, obs...]``): encode, integrate the
    model's latent equations (its ``equations/``) with RK4 for ``steps`` steps of ``dt`` (default: its
    data's time step), decode. Returns ``[..., steps + 1, obs...]`` (float32)."""
    inner = model._inner if isinstance(model, Model) else model
    return inner.forecast(floats(x0, "x0", np.float32), int(steps), dt)
