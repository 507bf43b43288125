"""The program type-checks against the providers' typed args: a misspelt argument or a wrong
nested args class fails here, not at `pulumi up`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_pyright_reports_zero_errors():
    pyright = Path(sys.executable).parent / "pyright"
    command = [str(pyright)] if pyright.exists() else [shutil.which("pyright") or "pyright"]
    result = subprocess.run([*command, "--outputjson"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    report = json.loads(result.stdout)
    errors = [
        f"{d['file']}:{d['range']['start']['line'] + 1}: {d['message']}"
        for d in report["generalDiagnostics"]
        if d["severity"] == "error"
    ]
    assert report["summary"]["filesAnalyzed"] >= 10
    assert errors == [], "\n".join(errors)
