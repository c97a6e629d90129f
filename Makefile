# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: run sandbox test check bench mutate package clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Stamps re-run the install only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PIP) install -e '.[test]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/opus-desktop --sandbox

sandbox: $(VENV)/.installed
	$(BIN)/opus-desktop sandbox

# pytest's exit 5 (no tests collected) fails this target like any other failure. One worker
# per core (pytest-xdist): 87 s serial, 49 s on two cores.
test: $(VENV)/.installed-test
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -n auto

check: $(VENV)/.installed-test
	$(BIN)/ruff check opus_desktop tests benchmarks tools conftest.py
	$(BIN)/mypy

# Every benchmark, then one table of issue 18's figures beside this run's
# (benchmarks/table.py). `make bench MILLION=1` adds the 1,000,000-row submit (minutes).
FIGURES := build/bench-figures.jsonl
bench: $(VENV)/.installed-test
	@set -e; mkdir -p build; : > $(FIGURES); for f in benchmarks/*.py; do \
	  case "$$f" in */figures.py|*/table.py) continue;; esac; \
	  extra=; [ -n "$(MILLION)" ] && [ "$$f" = benchmarks/submit_memory.py ] && extra=--million; \
	  echo "== $$f"; OPUS_BENCH_FIGURES=$(CURDIR)/$(FIGURES) QT_QPA_PLATFORM=offscreen \
	    $(PY) "$$f" $$extra; \
	done; echo "== the figures of issue 18"; $(PY) benchmarks/table.py $(FIGURES)

# Mutation testing of the ten modules tools/mutate.py names, each in its own copy of the tree
# under build/mutate/ against the tests that cover it, then the kill rate per module and every
# survivor (tools/mutation_report.py). From scratch each time, so a result never stands for
# code or tests that changed. Not part of CI. `make mutate MODULES="pace retry"` runs some.
MUTMUT := mutmut>=3.8,<4
mutate: $(VENV)/.installed-test
	$(PIP) install "$(MUTMUT)"
	$(PY) tools/mutate.py $(MODULES)

# The one-folder bundle dist/opus-desktop/ (PyInstaller, packaging/opus-desktop.spec), then
# its smoke test: the bundle started headless in an empty home opens its main window and
# exits 0, or this target fails. Not part of `make test`: it takes a minute or two.
PYINSTALLER := pyinstaller>=6.10,<7
package: $(VENV)/.installed
	$(PIP) install "$(PYINSTALLER)"
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN \
	  --distpath dist --workpath build packaging/opus-desktop.spec
	@home=$$(mktemp -d) && \
	  echo "== smoke test: dist/opus-desktop/opus-desktop --smoke-test" && \
	  OPUS_DESKTOP_HOME="$$home" QT_QPA_PLATFORM=offscreen \
	    dist/opus-desktop/opus-desktop --smoke-test; \
	  status=$$?; rm -rf "$$home"; \
	  if [ $$status -ne 0 ]; then echo "The bundle's smoke test failed (exit $$status)."; exit 1; fi
	@echo "== dist/opus-desktop/ built and smoke-tested: $$(du -sh dist/opus-desktop | cut -f1)"

clean:
	rm -rf build dist mutants .pytest_cache .mypy_cache .ruff_cache
