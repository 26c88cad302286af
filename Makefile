# convlstm: `make help` lists the targets. Every target creates or reuses .venv first.
#
# PyTorch: TORCH defaults to the CPU build this machine carries (torch==2.13.0). With a GPU, pick
# yours, e.g.  make setup TORCH="torch==2.13.0" TORCH_INDEX=https://download.pytorch.org/whl/cu126
# Elsewhere, for the CPU build from PyTorch's own index: TORCH_INDEX=https://download.pytorch.org/whl/cpu

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
PROFILE ?= quick
PORT ?= 8888
LAB_ARGS ?=
STAMP := $(VENV)/.installed
# Holds the TORCH/TORCH_INDEX choice of the last set-up. Its rule runs every time but rewrites it
# (and reinstalls torch) only when the choice changed, so a new choice re-runs the set-up and the
# same choice leaves it alone.
TORCH_STAMP := $(VENV)/.torch
TORCH_CHOICE := $(strip $(TORCH) $(TORCH_INDEX))

.DEFAULT_GOAL := help
.PHONY: help setup report smoke test test-fast lab data sweep benchmark lint notebooks clean FORCE

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'
	@echo "  variables: PROFILE=$(PROFILE) TORCH=$(TORCH) TORCH_INDEX=$(TORCH_INDEX) PORT=$(PORT)"

setup: $(STAMP) ## create .venv, install torch (TORCH, TORCH_INDEX) and the project, register its kernel
$(TORCH_STAMP): FORCE
	@if [ "$$(cat $@ 2>/dev/null)" != '$(TORCH_CHOICE)' ]; then \
	  set -e; \
	  test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
	  $(BIN)/python -m pip install --quiet --upgrade pip; \
	  if [ -f $@ ]; then \
	    echo "setup: torch was '$$(cat $@)', now '$(TORCH_CHOICE)': reinstalling torch"; \
	    $(BIN)/python -m pip uninstall --quiet --yes torch; \
	  else \
	    echo "setup: installing '$(TORCH_CHOICE)' into $(VENV)"; \
	  fi; \
	  $(BIN)/python -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH)"; \
	  echo '$(TORCH_CHOICE)' > $@; \
	fi
# The kernel the notebooks name (python3, "Python 3"), registered inside .venv with its own python.
$(STAMP): pyproject.toml $(TORCH_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3" >/dev/null
	touch $@
FORCE:

report: setup ## run every notebook with PROFILE (default quick) and render report/ (HTML + PDF)
	$(BIN)/python run_all.py --profile $(PROFILE)

smoke: setup ## the whole pipeline on tiny data (under 2 minutes), into report/smoke/
	$(BIN)/python run_all.py --profile smoke --output-dir report/smoke

test: setup ## run the whole test suite, slow end-to-end tests included (CI runs this)
	$(BIN)/python -m pytest

test-fast: setup ## the test suite without the slow end-to-end tests
	$(BIN)/python -m pytest -m "not slow"

lab: setup ## JupyterLab on the notebooks, their kernels on PROFILE; PORT (or the next free one); LAB_ARGS
	$(BIN)/python -m convlstm_lib lab --profile $(PROFILE) --port $(PORT) -- $(LAB_ARGS)

data: setup ## generate N6/N3 for PROFILE into data/generated/PROFILE/
	$(BIN)/python -m convlstm_lib generate --out data/generated/$(PROFILE) --profile $(PROFILE)

sweep: setup ## run or resume the sweep of PROFILE
	$(BIN)/python -m convlstm_lib sweep --profile $(PROFILE)

benchmark: setup ## training-step speed: fast ConvLSTM vs straightforward Equation 2
	$(BIN)/python benchmarks/train_step.py

lint: setup ## ruff over the library, tests, notebooks' sources and scripts
	$(BIN)/ruff check .

notebooks: setup ## re-pair notebooks/*.ipynb (no outputs) from the jupytext .py sources
	$(BIN)/jupytext --sync notebooks/[0-9][0-9]_*.py

clean: ## remove generated data, runs and caches (keeps the committed report)
	rm -rf data/generated data/processed runs .pytest_cache
