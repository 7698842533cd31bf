"""Dependencies: known-vulnerable versions never run (security.md B.12); everything the code
imports is declared in pyproject.toml; the lock (requirements/*.txt, what `make run`, `make test`
and CI install) agrees with pyproject.toml, so a dependency added without `make lock` fails here.

pip-audit (scripts/audit.sh) needs the vulnerability services online; these checks hold offline.
"""
import ast
import re
import sys
import tomllib
import zoneinfo
from datetime import datetime, timedelta
from importlib.metadata import packages_distributions, version
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCKS = {"run": ROOT / "requirements" / "run.txt", "test": ROOT / "requirements" / "test.txt"}
# The lock is resolved for this target (Makefile: LOCK_TARGET).
TARGET = {**default_environment(), "python_version": "3.11", "python_full_version": "3.11.0",
          "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
          "os_name": "posix", "implementation_name": "cpython",
          "platform_python_implementation": "CPython"}

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
    declared = " ".join(PYPROJECT["dependencies"])
    for name, floor in FLOORS.items():
        assert f"{name}>={floor}" in declared


# --- what the code imports is declared -------------------------------------------------------

def _requirements(*groups: str) -> list[Requirement]:
    lines = list(PYPROJECT["dependencies"])
    for group in groups:
        lines += PYPROJECT["optional-dependencies"][group]
    return [Requirement(line) for line in lines]


def _declared(*groups: str) -> set[str]:
    return {canonicalize_name(r.name) for r in _requirements(*groups)}


def _imported(paths) -> set[str]:
    """Top-level names of the absolute imports in these files, less the standard library and
    this repository's own modules."""
    local = {"couple", "tests", "bench", "app"}
    names = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in local}


def _undeclared(paths, declared: set[str]) -> dict[str, list[str]]:
    providers = packages_distributions()
    missing = {}
    for module in sorted(_imported(paths)):
        dists = {canonicalize_name(d) for d in providers.get(module, [module])}
        if not dists & declared:
            missing[module] = sorted(dists)
    return missing


def test_every_package_the_app_imports_is_declared():
    """A module the app imports only because something else happens to need it breaks the day
    that something stops needing it: declare it."""
    code = [*(ROOT / "couple").rglob("*.py"), ROOT / "app.py", ROOT / "gunicorn.conf.py"]
    assert _imported(code) >= {"flask", "sqlalchemy", "email_validator"}, "the scan finds imports"
    assert _undeclared(code, _declared()) == {}


def test_every_package_the_tests_and_benchmarks_import_is_declared():
    code = [*(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
    assert _undeclared(code, _declared("test", "bench")) == {}


def test_zone_names_resolve_without_the_hosts_zone_data():
    """tzdata is a dependency: a host without /usr/share/zoneinfo still knows every zone."""
    from couple.commitments import schedule

    assert "tzdata" in _declared()
    saved = zoneinfo.TZPATH
    zoneinfo.reset_tzpath(to=[])
    schedule._zones.cache_clear()
    try:
        assert schedule.valid_tz("Pacific/Chatham") and schedule.valid_tz("America/New_York")
        summer = datetime(2026, 7, 1, 12, tzinfo=zoneinfo.ZoneInfo.no_cache("Europe/Paris"))
        assert summer.utcoffset() == timedelta(hours=2)
        assert not schedule.valid_tz("Mars/Olympus_Mons")
    finally:
        zoneinfo.reset_tzpath(to=saved)
        schedule._zones.cache_clear()


# --- the lock agrees with pyproject.toml -----------------------------------------------------

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def _lock(which: str) -> dict[str, dict]:
    """name -> {"version", "hashes", "via"} from a `uv pip compile --generate-hashes` file."""
    entries, current, in_via = {}, None, False
    for line in LOCKS[which].read_text().splitlines():
        pin = _PIN.match(line)
        if pin:
            current = {"version": Version(pin.group(2)), "hashes": 0, "via": set()}
            entries[canonicalize_name(pin.group(1))] = current
            in_via = False
        elif current is not None and line.strip().startswith("--hash=sha256:"):
            current["hashes"] += 1
        elif current is not None and line.strip().startswith("# via"):
            in_via = True
            rest = line.strip()[len("# via"):].strip()
            if rest:
                current["via"].add(rest)
        elif current is not None and in_via and line.strip().startswith("#   "):
            current["via"].add(line.strip()[1:].strip())
        elif line.strip() and not line.startswith(" "):
            in_via = False
    return entries


GROUPS = {"run": (), "test": ("test", "bench")}


@pytest.mark.parametrize("which", sorted(LOCKS))
def test_the_lock_satisfies_every_requirement_in_pyproject(which):
    """Fails when pyproject.toml gains a dependency, or raises a floor, without `make lock`."""
    lock = _lock(which)
    assert len(lock) > 20, f"{LOCKS[which]} parsed to almost nothing"
    problems = []
    for req in _requirements(*GROUPS[which]):
        if req.marker is not None and not req.marker.evaluate(TARGET):
            continue
        entry = lock.get(canonicalize_name(req.name))
        if entry is None:
            problems.append(f"{req} is not in {LOCKS[which].name}: run `make lock`")
        elif not req.specifier.contains(entry["version"], prereleases=True):
            problems.append(f"{req}: {LOCKS[which].name} pins {entry['version']}: run `make lock`")
    assert problems == []


@pytest.mark.parametrize("which", sorted(LOCKS))
def test_the_lock_holds_nothing_pyproject_dropped(which):
    """What the lock says pyproject.toml asked for is exactly what pyproject.toml asks for."""
    lock = _lock(which)
    direct = {name for name, entry in lock.items() if "couple (pyproject.toml)" in entry["via"]}
    declared = {canonicalize_name(r.name) for r in _requirements(*GROUPS[which])
                if r.marker is None or r.marker.evaluate(TARGET)}
    assert direct == declared, "run `make lock`"


@pytest.mark.parametrize("which", sorted(LOCKS))
def test_every_pin_is_hashed(which):
    unhashed = [name for name, entry in _lock(which).items() if entry["hashes"] == 0]
    assert unhashed == []


def test_the_app_runs_on_the_versions_it_is_tested_on():
    run, test = _lock("run"), _lock("test")
    assert set(run) <= set(test)
    assert {n: run[n]["version"] for n in run} == {n: test[n]["version"] for n in run}
