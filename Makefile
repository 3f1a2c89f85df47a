# Quick start: `make demo` (the toy distillation, end to end) and `make test`.
# Both set up .venv first (idempotent; the first run builds mmcv, ~30 min).
PY := .venv/bin/python

.PHONY: install demo test

install:
	bash tools/setup_env.sh

demo: install
	$(PY) tools/toy_demo.py

test: install
	bash tools/run_tests.sh
