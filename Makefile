# Two entry points: `make run` and `make test`. Both set everything up on a fresh Debian/Ubuntu machine.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test style system-deps venv bench package package-test clean

system-deps:
	./scripts/system-deps.sh

$(STAMP): pyproject.toml
	$(MAKE) system-deps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

run: venv
	$(VENV)/bin/qfx-explorer resources/demo

test: venv
	QT_QPA_PLATFORM=$${QT_QPA_PLATFORM:-offscreen} $(PY) -m pytest -q -ra

# Repairs what ruff can (unsorted imports, Optional[X] -> X | None, unused noqa) and formats the tree (pyproject.toml);
# `make test` checks both (tests/test_style.py).
style: venv
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: venv
	$(PY) bench/features.py
	$(PY) bench/analysis.py
	$(PY) bench/index.py

# One-folder bundle (dist/quadfusion-explorer) + .deb + .tar.gz; see docs/packaging.md. Slow: ~GBs of torch.
package: venv
	$(PY) -m pip install --quiet -e ".[package]"
	OMP_NUM_THREADS=1 $(VENV)/bin/pyinstaller --noconfirm pyinstaller.spec
	./packaging/build_linux.sh

# Installs nothing: unpacks the .deb into build/package-test and runs the bundled qfx/qfx-explorer offscreen.
package-test:
	ls dist/quadfusion-explorer_*.deb >/dev/null 2>&1 || $(MAKE) package
	./packaging/package_test.sh

clean:
	rm -rf $(VENV) build dist
