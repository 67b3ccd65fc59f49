"""Sparse identification of nonlinear dynamics (SINDy), optionally equivariant under given generators,
in pysindy's shape: fit, then ``equations()``, ``coefficients()``, ``predict``, ``simulate``."""

import numpy as np

from . import _laligan
from ._arrays import floats, section


class SindyFit:
    """A fitted model ẋ = Ξ Θ(x)."""

    def __init__(self, inner):
        self._inner = inner

    def equations(self):
        """One equation per state, as ``laligan discover`` prints them."""
        return self._inner.equations()

    def print(self):
        """Prints the equations."""
        for e in self.equations():
            print(e)

    def coefficients(self):
        """The coefficients Ξ, ``[states, terms]`` (float64)."""
        return self._inner.coefficients()

    def terms(self):
        """The library's terms, in the order of the coefficients' columns."""
        return self._inner.terms()

    def predict(self, x):
        """ẋ at the rows ``x`` ``[n, states]``."""
        return self._inner.predict(floats(x, "x", np.float64))

    def score(self, x, dx):
        """R² of the fit on rows ``x``, ``dx`` (averaged over states)."""
        return self._inner.score(floats(x, "x", np.float64), floats(dx, "dx", np.float64))

    def simulate(self, x0, t):
        """Integrates from ``x0`` with RK4 over the evenly spaced times ``t``: ``[len(t), states]``."""
        x0 = floats(x0, "x0", np.float64).reshape(-1)
        return self._inner.simulate(x0.tolist(), floats(t, "t", np.float64).reshape(-1).tolist())

    def __repr__(self):
        return repr(self._inner)


def fit(
    x,
    dx,
    library="1 + poly(2)",
    threshold=0.1,
    generators=None,
    regressor="stlsq",
    alpha=None,
    max_iter=None,
    normalize_columns=None,
    state_names=None,
    soft_weight=None,
    seed=0,
):
    """Fits ``dx ≈ Ξ Θ(x)`` on rows ``x``, ``dx`` (``[n, states]``) with the library spec ``library`` (as
    in configs: ``"1 + poly(3)"``, ``"1 + x + sin(x) + cos(x)"``, ...) and the regressor ``regressor``
    (``"stlsq"`` or ``"adam-l1"``) at ``threshold``. With ``generators`` (``[g, states, states]``, e.g.
    a model's), the coefficients are constrained to be equivariant under them (exactly, or as a
    penalty of weight ``soft_weight``). Other arguments are the ``[sindy]`` keys of the same name; the
    same values give the same coefficients as ``laligan discover``."""
    x = floats(x, "x", np.float64)
    dx = floats(dx, "dx", np.float64)
    cfg = section(
        {
            "library": library,
            "threshold": threshold,
            "regressor": regressor,
            "alpha": alpha,
            "max_iter": max_iter,
            "normalize_columns": normalize_columns,
            "state_names": list(state_names) if state_names is not None else None,
            "soft_weight": soft_weight,
        }
    )
    g = None if generators is None else floats(generators, "generators", np.float64)
    if g is not None and g.ndim == 2:
        g = g[None]
    return SindyFit(_laligan.sindy_fit(x, dx, cfg, g, int(seed)))
