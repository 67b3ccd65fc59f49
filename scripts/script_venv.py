"""The virtual environment a script of this folder runs in: `scripts/.venv-NAME`, created on first use
with the given packages from the registry; the script is then re-run inside it."""

import os
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent


def ensure(name, packages):
    """Re-executes the calling script inside scripts/.venv-NAME (created on first use)."""
    venv = SCRIPTS / f".venv-{name}"
    py = venv / "bin" / "python"
    if Path(sys.prefix).resolve() == venv.resolve():
        return
    if not py.exists():
        print(f"creating {venv} ({', '.join(packages)}) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *packages], check=True)
    os.execv(str(py), [str(py), *sys.argv])
