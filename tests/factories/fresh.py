"""Running a piece of Python in a fresh interpreter: what a command imports starts from nothing."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def fresh_python(code: str, *args: str, cwd: Path, env: dict | None = None) -> object:
    """Run ``code`` (with ``args`` as sys.argv[1:]) in a new interpreter in ``cwd``; the JSON of
    its last line of output. Fails the test with the interpreter's stderr when it fails."""
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
