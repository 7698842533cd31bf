"""The browser modules' pure parts, run in Node against the real Yjs (tests/js/binding.test.mjs)."""
import json
import subprocess

import pytest

from couple.boundaries.content import content_hash
from tests.conftest import need
from tests.support.node import node_ready
from tests.support.servers import ROOT

pytestmark = pytest.mark.node

VECTORS = [
    ("We check in every Sunday.", "communication"),
    ("  e\u0301 café\r\nline two  ", "privacy"),
    ("\ufeffleading BOM is kept", "other"),
    ("\u0085 NEL is kept too \u001c", "behaviour"),
    ("emoji 😀 and 한국어", "expectations"),
    ("", "other"),
]


def test_binding_diff_caret_and_hash_match_the_server():
    need(node_ready(), "Node.js with the npm packages installed (npm ci)")
    vectors = [[t, c, content_hash(t, c)] for t, c in VECTORS]
    proc = subprocess.run(["node", str(ROOT / "tests/js/binding.test.mjs"), json.dumps(vectors)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout)["checks"] >= 6000 + len(VECTORS)
