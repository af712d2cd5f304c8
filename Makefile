# Two entry points: `make run` and `make test`. Both set everything up on a fresh Debian/Ubuntu machine.
#   make run   -> .venv-run: the runtime install only (ONNX Runtime, no torch; ~0.6 GB), opens the app on the demo
#   make test  -> .venv: everything (torch, training, export, tests); the tests also cover the torch-free path
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN_VENV := .venv-run
RUN_PY := $(RUN_VENV)/bin/python
RUN_STAMP := $(RUN_VENV)/.installed

.PHONY: run test style system-deps venv run-venv bench package package-gpu package-test clean

system-deps:
	./scripts/system-deps.sh

$(STAMP): pyproject.toml
	$(MAKE) system-deps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(RUN_STAMP): pyproject.toml
	$(MAKE) system-deps
	test -x $(RUN_PY) || $(PYTHON) -m venv $(RUN_VENV)
	$(RUN_PY) -m pip install --quiet --upgrade pip
	$(RUN_PY) -m pip install --quiet -e .
	touch $(RUN_STAMP)

venv: $(STAMP)

run-venv: $(RUN_STAMP)

run: run-venv
	$(RUN_VENV)/bin/qfx-explorer resources/demo

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

# The lean CPU bundle (dist/quadfusion-explorer) + .deb + .tar.gz, frozen from the torch-free runtime venv, so no
# torch can reach it; see docs/packaging.md.
package: run-venv
	$(RUN_PY) -m pip install --quiet pyinstaller
	OMP_NUM_THREADS=1 $(RUN_VENV)/bin/pyinstaller --noconfirm pyinstaller.spec
	./packaging/strip_bundle.sh dist/quadfusion-explorer
	./packaging/build_linux.sh

# The GPU flavour (torch + CUDA, MuQ): dist/quadfusion-explorer-gpu, package quadfusion-explorer-gpu. GBs, slow.
package-gpu: venv
	$(PY) -m pip install --quiet -e ".[package]"
	QFX_BUNDLE_FLAVOUR=gpu OMP_NUM_THREADS=1 $(VENV)/bin/pyinstaller --noconfirm pyinstaller.spec
	PKG=quadfusion-explorer-gpu ./packaging/build_linux.sh dist/quadfusion-explorer-gpu

# Installs nothing: unpacks the lean .deb into build/package-test and runs the bundled qfx/qfx-explorer offscreen.
package-test:
	ls dist/quadfusion-explorer_*.deb >/dev/null 2>&1 || $(MAKE) package
	./packaging/package_test.sh

clean:
	rm -rf $(VENV) $(RUN_VENV) build dist
