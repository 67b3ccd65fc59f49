"""The Python bindings against the CLI: the same numbers from the same inputs, and errors with the CLI's
messages. The CLI is target/release/laligan (or $LALIGAN_BIN), built by `cargo build --release`."""

import csv
import json
import os
import signal
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

import laligan

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("LALIGAN_BIN", ROOT / "target" / "release" / "laligan"))
PENDULUM = ROOT / "models" / "pendulum"

TINY = (ROOT / "tests" / "fixtures" / "tiny-pendulum.toml").read_text()


def cli(*args, cwd=None):
    r = subprocess.run([str(BIN), "-q", *map(str, args)], capture_output=True, text=True, cwd=cwd)
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def model():
    return laligan.load(PENDULUM)


def test_encode_and_decode_equal_the_cli(model, tmp_path):
    ds = laligan.data.generate("pendulum", set={"pendulum.n_val": 3, "pendulum.n_train": 2})
    x = np.ascontiguousarray(ds["val"]["x"][:, :40])  # [3, 40, 2], float32: read in place
    np.save(tmp_path / "x.npy", x)
    cli("encode", "--model", PENDULUM, "--input", tmp_path / "x.npy", "--out", tmp_path / "z.npy")
    z = model.encode(x)
    assert z.shape == (3, 40, 2) and z.dtype == np.float32
    assert np.abs(z - np.load(tmp_path / "z.npy")).max() <= 1e-6
    cli("decode", "--model", PENDULUM, "--input", tmp_path / "z.npy", "--out", tmp_path / "xh.npy")
    xh = model.decode(z)
    assert np.abs(xh - np.load(tmp_path / "xh.npy")).max() <= 1e-6
    # A round trip lands near the input; float64 and strided inputs are converted first.
    assert np.linalg.norm(xh - x) / np.linalg.norm(x) < 0.1
    assert np.array_equal(model.encode(x.astype(np.float64)[:, ::-1][:, ::-1]), z)


def test_generators_and_scores_describe_a_rotation(model):
    g = model.generators
    assert g.shape == (1, 2, 2)
    # A rotation up to a change of basis: trace zero and a negative determinant... of the square.
    assert abs(np.trace(g[0])) < 0.05 * np.abs(g[0]).max()
    assert np.linalg.det(g[0]) > 0
    s = model.scores
    assert s["imag_ratio"][0] > 0.99 and s["skew_ratio"][0] > 0.99
    assert 0 < s["orbit_cv"][0] < 1 and s["recon_mse"] < 0.01
    assert model.obs == (2,) and model.latent_dim == 2


def test_sindy_fit_recovers_the_pendulum_and_equals_laligan_discover(tmp_path):
    n = 20
    ds = laligan.data.generate("pendulum", set={"pendulum.n_train": n})
    tr = ds["train"]
    x = tr["x"].reshape(-1, 2).astype(np.float64)
    dx = tr["dx"].reshape(-1, 2).astype(np.float64)
    fit = laligan.sindy.fit(x, dx, library="1 + x + sin(x) + cos(x)", threshold=0.1)
    terms = fit.terms()
    c = fit.coefficients()
    want = np.zeros_like(c)
    want[0, terms.index("x1")] = 1.0
    want[1, terms.index("sin(x0)")] = -1.0
    assert np.abs(c - want).max() < 1e-3, fit.equations()
    assert np.count_nonzero(c) == 2

    cli(
        "discover",
        "--config",
        ROOT / "models" / "sindy-pendulum" / "config.toml",
        "--set",
        f'data.recipe_set=["pendulum.n_train={n}"]',
        "--out",
        tmp_path / "eq",
    )
    doc = json.loads((tmp_path / "eq" / "equations.json").read_text())
    assert np.abs(c - np.asarray(doc["coefficients"])).max() <= 1e-10

    # pysindy's shape: predict and simulate.
    assert np.abs(fit.predict(x[:5]) - dx[:5]).max() < 1e-3
    t = np.arange(0, 2.0, 0.02)
    sim = fit.simulate(x[0], t)
    assert sim.shape == (len(t), 2) and np.abs(sim[-1] - x[len(t) - 1]).max() < 1e-3
    assert fit.score(x, dx) > 0.999


def test_equivariant_fit_uses_the_generators(model):
    rng = np.random.default_rng(1)
    z = rng.normal(size=(400, 2))
    rot = np.array([[0.0, 1.0], [-1.0, 0.0]])
    dz = z @ rot.T
    fit = laligan.sindy.fit(z, dz, library="1 + poly(3)", threshold=0.05, generators=rot[None])
    assert np.abs(fit.coefficients()[:, 1:3] - rot).max() < 1e-8


def test_one_epoch_from_python_writes_the_cli_metrics(tmp_path):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY)
    summary = laligan.train(cfg, tmp_path / "py", set={"train.epochs": 1})
    assert summary["epochs"] == 1
    log = (tmp_path / "py" / "train.log").read_text()
    assert "command: laligan.train(" in log and "set={'train.epochs': 1}" in log, log
    cli("train", "--config", cfg, "--out", tmp_path / "cli", "--set", "train.epochs=1")

    def table(run):
        with open(run / "metrics.csv") as f:
            return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]

    assert table(tmp_path / "py") == table(tmp_path / "cli")
    assert (tmp_path / "py" / "model.safetensors").read_bytes() == (
        tmp_path / "cli" / "model.safetensors"
    ).read_bytes()
    # Fine-tuning starts from a model's weights.
    laligan.train(cfg, tmp_path / "tuned", set={"train.epochs": 1}, init=tmp_path / "py")
    assert "initialized from the model" in (tmp_path / "tuned" / "train.log").read_text()


def test_ctrl_c_stops_training_with_a_checkpoint_and_resume_finishes_it(tmp_path):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY)
    out = tmp_path / "run"
    # A Python started with SIGINT ignored (a job sent to the background by a non-interactive shell)
    # keeps ignoring it; Ctrl-C must act here as it does in a terminal.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(1.0, lambda: signal.raise_signal(signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt, match="resume=True"):
            laligan.train(cfg, out, set={"train.epochs": 100000})
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert (out / "training_state.safetensors").exists()
    with open(out / "metrics.csv") as f:
        done = sum(1 for _ in f) - 1
    summary = laligan.train(cfg, out, set={"train.epochs": done + 2}, resume=True)
    assert summary["epochs"] == done + 2


def test_forecast_decodes_the_latent_equations(model):
    x0 = np.array([0.5, 0.0], dtype=np.float32)
    f = laligan.forecast(model, x0, steps=10, dt=0.02)
    assert f.shape == (11, 2)
    assert np.abs(f[0] - model.decode(model.encode(x0))).max() < 1e-5
    assert np.abs(f[1] - f[0]).max() < 0.05


def test_bad_input_raises_with_the_cli_message(model, tmp_path):
    with pytest.raises(laligan.LaliganError, match="no-such-model: no such folder or file"):
        laligan.load(tmp_path / "no-such-model")
    with pytest.raises(laligan.LaliganError, match=r"expected \[\.\.\., 2\]"):
        model.encode(np.zeros((4, 3), dtype=np.float32))
    with pytest.raises(TypeError, match="dtype complex128"):
        model.encode(np.zeros((4, 2), dtype=complex))
    with pytest.raises(laligan.LaliganError, match="library"):
        laligan.sindy.fit(np.zeros((10, 2)), np.zeros((10, 2)), library="1 + nope(3)")
    with pytest.raises(laligan.LaliganError, match="threshold"):
        laligan.sindy.fit(np.zeros((10, 2)), np.zeros((10, 2)), threshold=-1.0)
    with pytest.raises(laligan.LaliganError, match="pendulum.n_tran"):
        laligan.data.generate("pendulum", set={"pendulum.n_tran": 3})
    with pytest.raises(ValueError, match="C-contiguous|shape"):
        laligan.sindy.fit(np.zeros(10), np.zeros(10))
