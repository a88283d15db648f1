# One-command set-up: `make demo` and `make test` create .venv and pip-install the pinned
# Python dependencies (about 7 GB, see README). Nothing is installed outside .venv, except by
# `make browser`, which you run yourself (CI does).
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export FIFTYONE_DO_NOT_TRACK := true

.PHONY: install test test-fast lint format demo bench browser clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev]'
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

demo: install
	$(PY) -m avsmodel.demo --out demo_out

bench: install
	@test -d bench/_data/lvis || test -n "$(REFERENCE)" || \
		{ echo "make bench REFERENCE=DIR (upstream label files, layout in scripts/make_vocab.py)"; exit 2; }
	@test -d bench/_data/lvis || $(PY) bench/make_full_metadata.py --reference "$(REFERENCE)"
	$(PY) bench/plan_speed.py
	$(PY) bench/model_speed.py --model sama_avs_tiny --image-size 128

clean:
	rm -rf $(VENV) demo_out .pytest_cache
