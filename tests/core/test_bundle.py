"""The committed browser bundle is exactly what its source builds to (so running the app needs
no Node, and nobody ships a bundle that differs from the code under review)."""
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import need

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.node
def test_committed_bundle_matches_source(tmp_path):
    need(shutil.which("node") is not None, "Node.js to build the bundle")
    need((ROOT / "node_modules" / "esbuild").exists(), "npm ci (node_modules)")
    subprocess.run(["node", "static/build.mjs", str(tmp_path)], cwd=ROOT, check=True,
                   capture_output=True, timeout=120)
    # Scripts, and the capabilities' style sheets their page entries import.
    built = sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".js", ".css"))
    committed = sorted(p.name for p in (ROOT / "static" / "dist").iterdir()
                       if p.suffix in (".js", ".css"))
    assert {"boundaries.css", "commitments.css"} <= set(built)
    assert built == committed, "a page's bundle is missing or stale: run `npm run build`"
    for name in built:
        assert (tmp_path / name).read_bytes() == (ROOT / "static" / "dist" / name).read_bytes(), (
            f"static/dist/{name} differs from its source: run `npm run build` and commit it")
