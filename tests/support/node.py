"""Node.js for the tests that run the browser's own modules (real Yjs, the commitments page's
words): whether it is there with the npm packages, and a script of tests/js/ run with a JSON
config, answering JSON."""
import json
import shutil
import subprocess

from tests.support.servers import ROOT


def node_ready() -> bool:
    return bool(shutil.which("node")) and (ROOT / "node_modules" / "yjs").exists()


def run_node(script: str, config: dict, timeout: float = 300) -> dict:
    proc = subprocess.run(["node", str(ROOT / "tests" / "js" / script), json.dumps(config)],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-2000:]
    return json.loads(proc.stdout)
