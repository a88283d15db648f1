# One-command set-up: `make demo` and `make test` create .venv and pip-install the pinned
# Python dependencies (about 7 GB, see README). Nothing is installed outside .venv, except by
# `make browser`, which you run yourself (CI does).
# Python 3.11 (pyproject: requires-python >=3.11,<3.12): python3.11, else python3 if it is 3.11.
PYTHON ?= $(firstword $(shell for p in python3.11 python3; do command -v $$p >/dev/null 2>&1 && \
	$$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null && echo $$p; done))
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export FIFTYONE_DO_NOT_TRACK := true

.PHONY: install test test-fast lint format demo docs bench browser clean

$(STAMP): pyproject.toml
	@test -x $(PY) || test -n "$(PYTHON)" || { \
	  echo "make: this project needs Python 3.11 (pyproject.toml: requires-python >=3.11,<3.12)"; \
	  echo "      and found none (python3 is: $$(python3 --version 2>&1 || echo missing))."; \
	  echo "      Install Python 3.11 (e.g. apt-get install python3.11-venv, or pyenv/uv), or"; \
	  echo "      point make at one: make $(MAKECMDGOALS) PYTHON=/path/to/python3.11"; exit 2; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev]'
# lvis (the official LVIS API, a test reference) declares opencv-python, whose cv2 would
# overwrite the one of opencv-python-headless (fiftyone's OpenCV). It imports only cv2, numpy,
# matplotlib and pycocotools, all installed above (its Cython requirement is unused), so it goes
# in without its declared dependencies. A venv that already holds opencv-python loses it, and
# the headless build is reinstalled over the files the two shared.
	$(PY) -m pip install -q --no-deps lvis==0.5.3
	@if $(PY) -m pip show -q opencv-python >/dev/null 2>&1; then \
	  $(PY) -m pip uninstall -q -y opencv-python && \
	  $(PY) -m pip install -q --no-deps --force-reinstall "opencv-python-headless==$$($(PY) -c \
	    'from importlib.metadata import version; print(version("opencv-python-headless"))')"; fi
	@touch $(STAMP)

install: $(STAMP)

lint: install
	$(VENV)/bin/ruff check avsynth avsmodel tests bench scripts
	$(VENV)/bin/ruff format --check avsynth avsmodel tests bench scripts

format: install
	$(VENV)/bin/ruff format avsynth avsmodel tests bench scripts
	$(VENV)/bin/ruff check --fix avsynth avsmodel tests bench scripts

# Optional: Debian's chromium (about 290 MB, with apt-get, as root) for the one test that
# screenshots the FiftyOne App in a headless browser. `make test` does not run this; without
# chromium that test is skipped with a note saying how to run it.
browser:
	@if command -v chromium >/dev/null 2>&1; then echo "chromium is installed: $$(command -v chromium)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium (about 290 MB) with apt-get for the App screenshot test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "make browser: needs root and apt-get (or install chromium yourself);" \
	  "without it the App screenshot test is skipped"; exit 1; fi

test: install lint
	@command -v chromium >/dev/null 2>&1 || echo "note: no chromium: the App screenshot test will be skipped (run 'make browser' as root to install it)"
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow"

# The documentation site (mkdocs.yml) into site/; the test suite builds it too.
docs: install
	$(VENV)/bin/mkdocs build --strict

demo: install
	$(VENV)/bin/avsmodel demo --out demo_out

bench: install
	@test -d bench/_data/lvis || test -n "$(REFERENCE)" || \
		{ echo "make bench REFERENCE=DIR (upstream label files, layout in scripts/make_vocab.py)"; exit 2; }
	@test -d bench/_data/lvis || $(PY) bench/make_full_metadata.py --reference "$(REFERENCE)"
	$(PY) bench/plan_speed.py
	$(PY) bench/model_speed.py --model sama_avs_tiny --image-size 128

clean:
	rm -rf $(VENV) demo_out site .pytest_cache
