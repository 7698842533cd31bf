#!/usr/bin/env bash
# Known-vulnerability audit of the dependencies (security.md B.12, issue 7).
#   Python: pip-audit over the installed environment (what the app really runs on), plus the
#           lock files in requirements/ (what `make run` and `make test` install; pinned and
#           hashed, so they are audited as written, without resolving anything).
#   JS:     npm audit over package-lock.json (the bundled socket.io-client and yjs).
# Exits non-zero on any known vulnerability. Needs network access to the advisory databases
# (PyPI/OSV and the npm registry). Usage: scripts/audit.sh   (from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3

status=0
echo "== pip-audit: installed environment"
# --skip-editable: the project itself (couple) is not on PyPI.
# --strict: a dependency that could not be looked up fails the audit (never a silent pass).
"$PY" -m pip_audit --strict --progress-spinner off --skip-editable --desc on || status=1
shopt -s nullglob
locks=(requirements/*.txt)
[ ${#locks[@]} -gt 0 ] || { echo "no lock files in requirements/"; status=1; }
for lock in "${locks[@]}"; do
  echo "== pip-audit: $lock"
  "$PY" -m pip_audit --strict --progress-spinner off --desc on --disable-pip --require-hashes \
    -r "$lock" || status=1
done
if [ -f package-lock.json ] && command -v npm >/dev/null; then
  echo "== npm audit: package-lock.json"
  npm audit --package-lock-only --audit-level=low || status=1
fi
exit $status
