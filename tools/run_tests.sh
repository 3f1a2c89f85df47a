#!/usr/bin/env bash
# Run the test suite in .venv. Extra arguments go to pytest.
# pytest's exit code 5 ("no tests collected") is turned into a failure: a
# suite that collects nothing is broken, not green.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# The tests use tiny tensors: one intra-op thread avoids oversubscription.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
"${MMKD_VENV:-$ROOT/.venv}/bin/python" -m pytest tests -q -rs -p no:cacheprovider "$@"
rc=$?
if [[ $rc -eq 5 ]]; then
  echo "run_tests: pytest collected no tests; treating as a failure" >&2
  exit 1
fi
exit $rc
