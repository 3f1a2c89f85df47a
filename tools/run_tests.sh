#!/usr/bin/env bash
# Run the test suite in .venv. Extra arguments go to pytest.
# pytest's exit code 5 ("no tests collected") is turned into a failure: a
# suite that collects nothing is broken, not green.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
"${MMKD_VENV:-$ROOT/.venv}/bin/python" -m pytest tests -q -rs "$@"
rc=$?
if [[ $rc -eq 5 ]]; then
  echo "run_tests: pytest collected no tests; treating as a failure" >&2
  exit 1
fi
exit $rc
