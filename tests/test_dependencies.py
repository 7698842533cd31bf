"""Known-vulnerable versions never run (security.md B.12), checked against what is installed.

pip-audit (scripts/audit.sh) needs the vulnerability services online; this floor holds offline.
"""
from importlib.metadata import version

from packaging.version import Version

FLOORS = {
    # CVE-2025-61765: python-socketio's message queue unpickled attacker-controlled data.
    "python-socketio": "5.16.2",
    # CVE-2026-48802 / 48804 / 48809 in python-engineio.
    "python-engineio": "4.13.2",
}


def test_installed_versions_are_past_the_known_vulnerabilities():
    for name, floor in FLOORS.items():
        assert Version(version(name)) >= Version(floor), f"{name} {version(name)} < {floor}"


def test_pyproject_declares_the_same_floors():
    import tomllib
    from pathlib import Path

    deps = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    declared = " ".join(deps["project"]["dependencies"])
    for name, floor in FLOORS.items():
        assert f"{name}>={floor}" in declared
