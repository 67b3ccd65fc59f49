#!/usr/bin/env python3
"""A small model with the PyTorch reference implementation's module layout, saved as the reference saves
it, for the `laligan convert` test. Run by hand, not in CI:

    python3 scripts/make_reference_fixture.py

On first use it creates scripts/.venv-reference with torch and numpy and re-runs itself there. It builds
the reference's pendulum architecture at hidden width 32 (MLP autoencoder 2 -> 32 x 5 layers -> 2 with
batch norm over the window's two states, an orthogonal last encoder layer through PyTorch's
parametrization, a latent batch norm; a 2x2 learnable generator acting on both states; an MLP
discriminator), trains it for a few steps on pendulum windows so that weights and batch-norm statistics
are not their initial values, thresholds the generator as the reference does (|L| > 0.3 max|L|), and
writes into tests/fixtures/reference/:

  autoencoder.pt      autoencoder.state_dict()      (as the reference's main.py and train.py save it)
  generator.pt        generator.state_dict()        (Li.0, sigma.0; train.py's generator_N.pt)
  discriminator.pt    discriminator.state_dict()    (train.py's discriminator_N.pt)
  Lie_list.pt         the masked algebra as a list  (main.py's Lie_list.pt)
  combined.pt         one state dict with the prefixes autoencoder., generator., discriminator.
  combined.safetensors  the same tensors as safetensors
  whole_module.pt     torch.save of a whole nn.Linear (a pickle of classes: must be refused)
  legacy.pt           generator.state_dict() in the legacy non-zip format (must be refused)
  inputs.npy          64 pendulum states (theta, omega), float32
  latents.npy         the autoencoder's latents of them in eval mode
  recon.npy           their reconstructions in eval mode

tests/fixtures/reference/config.toml is the laligan config of the same architecture (kept by hand).
"""

import json
import math
import struct
from pathlib import Path

import script_venv

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "reference"

HIDDEN, LAYERS, LATENT, STATE, WINDOW = 32, 5, 2, 2, 2
THRESHOLD = 0.3


def build():
    import torch
    from torch import nn
    from torch.nn.utils.parametrizations import orthogonal

    class Windowed(nn.Module):
        """Batch norm over the features of every state of a window [batch, window, n] (no parameters of
        its own besides the norm's, so it keeps the reference's index layout)."""

        def __init__(self, n):
            super().__init__()
            self.n = n

        def forward(self, x):
            return x

    def bn_slot(n):
        # The reference puts Reshape, BatchNorm1d, Reshape after each linear layer of the encoder: three
        # modules, of which only the norm has state.
        return [Windowed(n), nn.BatchNorm1d(n), Windowed(n)]

    class Encoder(nn.Sequential):
        def forward(self, x):
            for m in self:
                if isinstance(m, nn.BatchNorm1d):
                    shape = x.shape
                    x = m(x.reshape(-1, shape[-1])).reshape(shape)
                else:
                    x = m(x)
            return x

    class AutoEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            layers = [nn.Linear(STATE, HIDDEN), *bn_slot(HIDDEN), nn.ReLU()]
            for _ in range(LAYERS - 1):
                layers.append(Encoder(nn.Linear(HIDDEN, HIDDEN), *bn_slot(HIDDEN), nn.ReLU()))
            layers.append(orthogonal(nn.Linear(HIDDEN, LATENT)))
            layers.extend(bn_slot(LATENT))
            self.encoder = Encoder(*layers)
            dec = [nn.Linear(LATENT, HIDDEN), nn.ReLU()]
            for _ in range(LAYERS - 1):
                dec.append(nn.Sequential(nn.Linear(HIDDEN, HIDDEN), nn.ReLU()))
            dec.append(nn.Linear(HIDDEN, STATE))
            self.decoder = nn.Sequential(*dec)

        def forward(self, x):
            z = self.encoder(x)
            return z, self.decoder(z)

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.Li = nn.ParameterList([nn.Parameter(torch.tensor([[[0.05, 1.2], [-0.9, 0.1]]]))])
            self.sigma = nn.ParameterList([nn.Parameter(torch.eye(1), requires_grad=False)])
            self.mask = torch.ones(1, LATENT, LATENT)

        def algebra(self):
            return [self.Li[0] * self.mask]

        def forward(self, z):
            w = torch.randn(z.shape[0], 1) @ self.sigma[0]
            g = torch.matrix_exp(torch.einsum("bc,cij->bij", w, self.algebra()[0]))
            return torch.einsum("bij,btj->bti", g, z)

    disc = [nn.Linear(WINDOW * LATENT, HIDDEN), nn.ReLU()]
    for _ in range(LAYERS - 1):
        disc.append(nn.Sequential(nn.Linear(HIDDEN, HIDDEN), nn.ReLU()))
    disc.extend([nn.Linear(HIDDEN, 1), nn.Sigmoid()])

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = nn.Sequential(*disc)

        def forward(self, z):
            return self.model(z.reshape(z.shape[0], -1))

    return AutoEncoder(), Generator(), Discriminator()


def pendulum_windows(rng, n):
    """n windows of two consecutive pendulum states (RK4, dt 0.02) from random initial conditions."""
    import numpy as np

    def f(s):
        return np.array([s[1], -math.sin(s[0])])

    out = np.zeros((n, WINDOW, STATE), dtype=np.float32)
    for i in range(n):
        s = np.array([rng.uniform(-2.5, 2.5), rng.uniform(-1.5, 1.5)])
        for t in range(WINDOW):
            out[i, t] = s
            for _ in range(10):
                h = 0.002
                k1 = f(s)
                k2 = f(s + h / 2 * k1)
                k3 = f(s + h / 2 * k2)
                k4 = f(s + h * k3)
                s = s + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return out


def write_safetensors(path, tensors):
    """tensors: name -> torch tensor (f32 or i64), written with the header safetensors expects."""
    import torch

    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        data = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    script_venv.ensure("reference", ["torch", "numpy"])
    import numpy as np
    import torch

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    ae, gen, disc = build()
    params = [*ae.parameters(), *gen.parameters(), *disc.parameters()]
    opt = torch.optim.Adam([p for p in params if p.requires_grad], lr=3e-3)
    bce = torch.nn.BCELoss()
    for step in range(40):
        x = torch.from_numpy(pendulum_windows(rng, 64))
        z, xh = ae(x)
        gz = gen(z)
        d_fake = disc(gz)
        loss = ((xh - x) ** 2).mean() + 0.01 * bce(d_fake, torch.ones_like(d_fake))
        loss = loss + 0.5 * (bce(disc(z.detach()), torch.ones_like(d_fake)) + bce(disc(gz.detach()), torch.zeros_like(d_fake)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step == 20:
            # Sequential thresholding as the reference does it: entries at most 0.3 x the channel's
            # largest are masked.
            li = gen.Li[0].detach()
            gen.mask = (li.abs() > THRESHOLD * li.abs().amax(dim=(1, 2), keepdim=True)).float()
    print(f"trained 40 steps, last loss {loss.item():.4f}; mask {gen.mask.flatten().tolist()}")

    OUT.mkdir(parents=True, exist_ok=True)
    ae.eval()
    x = pendulum_windows(rng, 32).reshape(-1, STATE)
    with torch.no_grad():
        xt = torch.from_numpy(x)
        z, xh = ae(xt.reshape(-1, WINDOW, STATE))
    np.save(OUT / "inputs.npy", x)
    np.save(OUT / "latents.npy", z.reshape(-1, LATENT).numpy().astype(np.float32))
    np.save(OUT / "recon.npy", xh.reshape(-1, STATE).numpy().astype(np.float32))

    torch.save(ae.state_dict(), OUT / "autoencoder.pt")
    torch.save(gen.state_dict(), OUT / "generator.pt")
    torch.save(disc.state_dict(), OUT / "discriminator.pt")
    torch.save([l.detach() for l in gen.algebra()], OUT / "Lie_list.pt")
    combined = {}
    for prefix, m in [("autoencoder", ae), ("generator", gen), ("discriminator", disc)]:
        for k, v in m.state_dict().items():
            combined[f"{prefix}.{k}"] = v
    torch.save(combined, OUT / "combined.pt")
    write_safetensors(OUT / "combined.safetensors", combined)
    torch.save(torch.nn.Linear(2, 2), OUT / "whole_module.pt")
    torch.save(gen.state_dict(), OUT / "legacy.pt", _use_new_zipfile_serialization=False)
    for p in sorted(OUT.iterdir()):
        print(f"{p.relative_to(ROOT)}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
