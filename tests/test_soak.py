"""The soak runs (briefly here) and its audit passes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_short_soak_audit_passes() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "threadactors", "soak", "--seconds", "3", "--crash-every", "100"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    lines = dict(line.strip().split(":", 1) for line in out.stdout.splitlines() if ":" in line)
    assert int(lines["workers that died (restarted)"].replace(",", "")) > 0
    assert int(lines["addressed to a worker that died"].replace(",", "")) > 0
    assert lines["violations"].strip() == "lost 0, twice 0, wrong worker 0, out of order 0"
    assert lines["audit"].strip() == "OK"
