# nntrain — make targets. The first two are all a new user needs:
#   make run    install what is missing, build (release), train configs/quickstart.json
#   make test   build and run the whole test suite (what CI runs)
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift
BIN := .build/release/nntrain
PACKAGES := libopenblas-dev zlib1g-dev pkg-config

.PHONY: all setup build run test test-slurm test-interop test-report data bench fuzz lint clean help

all: build

help:
	@echo "make run    build and train configs/quickstart.json (writes runs/quickstart/)"
	@echo "make test   build and run every test"
	@echo "make setup  install the system libraries (OpenBLAS, zlib) with apt-get"
	@echo "make data   install the full Fashion-MNIST and WordNet 3.0 (Debian packages), build data/wordnet-glosses"
	@echo "make test-slurm  run the Slurm sweep example on a one-node cluster started here (root)"
	@echo "make test-interop  check a run's TensorBoard event file with TensorBoard's reader, ONNX exports with ONNX Runtime (pip, a venv), and torch exports with PyTorch (TORCH_PYTHON; skipped without torch)"
	@echo "make test-report  render a two-run and a sweep report with headless Chromium and check the pictures"
	@echo "make bench  measure training throughput (and PyTorch's, if importable)"

# Installs OpenBLAS and zlib headers when missing (apt-get as root; otherwise says what to install).
setup:
	@missing=""; \
	pkg-config --exists openblas 2>/dev/null || missing="$$missing libopenblas-dev pkg-config"; \
	[ -f /usr/include/zlib.h ] || missing="$$missing zlib1g-dev"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PACKAGES) >/dev/null; \
	  else \
	    echo "missing system packages:$$missing"; \
	    echo "install them with: sudo apt-get install -y $(PACKAGES)"; exit 1; \
	  fi; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "swift not found: install Swift 6 (https://swift.org/install) and put it on PATH"; exit 1; }

build: setup
	$(SWIFT) build -c release --product nntrain

run: build
	$(BIN) run configs/quickstart.json --force

# Unit tests plus end-to-end tests of the release binary (CLITests run $(BIN)).
test: build
	NNTRAIN_BIN=$(CURDIR)/$(BIN) $(SWIFT) test

# The shipped Slurm example through real sbatch on a one-node cluster, checked against a local
# sweep (needs root; installs slurmctld/slurmd/munge with apt-get; skips visibly otherwise).
test-slurm: build
	NNTRAIN_BIN=$(CURDIR)/$(BIN) bash Tests/Slurm/test-slurm.sh

# A run's TensorBoard event file read by TensorBoard's own EventAccumulator and checked against
# its CSV files, after a resume too (Tests/Interop/check_tensorboard.py); `nntrain export --format
# onnx` checked by onnx.checker and run by ONNX Runtime against `nntrain predict`, for the
# quickstart, the CNN and a config per layer group (Tests/Interop/check_onnx.py). `pip install
# tensorboard` (and `onnx onnxruntime numpy`) goes into a virtualenv outside the repository, made
# when missing; a failed install fails the target. INTEROP=0 skips it. `nntrain export --format
# torch` is checked by PyTorch (Tests/Interop/check_torch.py: model.py loaded strictly, against
# `nntrain predict`) with TORCH_PYTHON, a Python that has torch, numpy and safetensors; torch is
# never installed here (≈3 GB): without it the check prints SKIPPED.
INTEROP_VENV ?= $(HOME)/.cache/nntrain-interop
TORCH_PYTHON ?= $(INTEROP_VENV)/bin/python
test-interop: build
	@if [ "$(INTEROP)" = 0 ]; then echo "test-interop: SKIPPED (INTEROP=0)"; exit 0; fi; \
	set -e; \
	if ! "$(INTEROP_VENV)/bin/python" -c "import tensorboard" 2>/dev/null; then \
	  if ! python3 -c "import ensurepip, venv" 2>/dev/null; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      echo "test-interop: installing python3-venv"; \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null; \
	    else echo "test-interop: needs python3 with venv: sudo apt-get install -y python3-venv"; exit 1; fi; \
	  fi; \
	  echo "test-interop: installing tensorboard into $(INTEROP_VENV)"; \
	  python3 -m venv --clear "$(INTEROP_VENV)"; \
	  "$(INTEROP_VENV)/bin/pip" install -q tensorboard; \
	fi; \
	if ! "$(INTEROP_VENV)/bin/python" -c "import onnx, onnxruntime, numpy" 2>/dev/null; then \
	  echo "test-interop: installing onnx onnxruntime numpy into $(INTEROP_VENV)"; \
	  "$(INTEROP_VENV)/bin/pip" install -q onnx onnxruntime numpy; \
	fi; \
	dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	$(BIN) run configs/quickstart.json --tensorboard --out "$$dir/run" --set training.epochs=2 --quiet; \
	$(BIN) run --resume "$$dir/run" --set training.epochs=3 --quiet; \
	"$(INTEROP_VENV)/bin/python" Tests/Interop/check_tensorboard.py "$$dir/run"; \
	"$(INTEROP_VENV)/bin/python" Tests/Interop/check_onnx.py $(BIN) "$$dir/onnx"; \
	"$(TORCH_PYTHON)" Tests/Interop/check_torch.py $(BIN) "$$dir/torch"

# Two short quickstart runs (lr 1e-3 and 1e-6), their `nntrain report`, rendered by headless
# Chromium (installed with apt-get as root when missing; SKIPPED when not root) and checked by
# Tests/Report/check_report.py: a PNG that is not blank, the SVG charts in the DOM, no console
# errors. The files stay in REPORT_DIR.
REPORT_DIR ?= /tmp/nntrain-test-report
test-report: build
	@set -e; \
	browser=$$(command -v chromium || command -v chromium-browser || true); \
	if [ -z "$$browser" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "test-report: installing chromium"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	    browser=$$(command -v chromium); \
	  else echo "test-report: SKIPPED (no chromium; as root it is installed: sudo apt-get install -y chromium)"; exit 0; fi; \
	fi; \
	rm -rf "$(REPORT_DIR)"; mkdir -p "$(REPORT_DIR)"; \
	$(BIN) run configs/quickstart.json --out "$(REPORT_DIR)/lr1e-3" --set training.epochs=3 --diagnose --quiet; \
	$(BIN) run configs/quickstart.json --out "$(REPORT_DIR)/lr1e-6" --set training.epochs=3 --set optimizer.lr=1e-6 --diagnose --quiet; \
	$(BIN) report "$(REPORT_DIR)/lr1e-3" "$(REPORT_DIR)/lr1e-6" --out "$(REPORT_DIR)/report.html"; \
	flags="--headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0"; \
	"$$browser" $$flags --screenshot="$(REPORT_DIR)/report.png" --window-size=1200,2400 "file://$(REPORT_DIR)/report.html" 2>"$(REPORT_DIR)/chromium.log" >/dev/null; \
	"$$browser" $$flags --dump-dom "file://$(REPORT_DIR)/report.html" 2>>"$(REPORT_DIR)/chromium.log" >"$(REPORT_DIR)/dom.html"; \
	python3 Tests/Report/check_report.py "$(REPORT_DIR)/report.png" "$(REPORT_DIR)/dom.html" "$(REPORT_DIR)/chromium.log"; \
	$(BIN) sweep configs/sweep/quickstart-halving.json --out "$(REPORT_DIR)/sweep" --quiet; \
	$(BIN) report "$(REPORT_DIR)/sweep"; \
	"$$browser" $$flags --screenshot="$(REPORT_DIR)/sweep.png" --window-size=1200,2400 "file://$(REPORT_DIR)/sweep/report.html" 2>"$(REPORT_DIR)/chromium-sweep.log" >/dev/null; \
	"$$browser" $$flags --dump-dom "file://$(REPORT_DIR)/sweep/report.html" 2>>"$(REPORT_DIR)/chromium-sweep.log" >"$(REPORT_DIR)/sweep-dom.html"; \
	python3 Tests/Report/check_report.py --sweep "$(REPORT_DIR)/sweep.png" "$(REPORT_DIR)/sweep-dom.html" "$(REPORT_DIR)/chromium-sweep.log"

# A longer run of the hostile-input and kill -9 tests (random seed unless FUZZ_SEED is set).
FUZZ_SEED ?= $(shell date +%s)
fuzz: build
	NNTRAIN_BIN=$(CURDIR)/$(BIN) NNTRAIN_FUZZ_SEED=$(FUZZ_SEED) NNTRAIN_FUZZ_CONFIGS=5000 NNTRAIN_FUZZ_DATA_ROUNDS=40 NNTRAIN_FUZZ_FILES=5000 \
	  NNTRAIN_KILL_LOOPS=100 NNTRAIN_KILL_EPOCHS=150 NNTRAIN_KILL_SEED=$(FUZZ_SEED) \
	  $(SWIFT) test --filter 'malformed|corrupt|kill|Corpus|theData'

data:
	@if [ -d /usr/share/datasets/fashion-mnist ]; then echo "Fashion-MNIST is installed at /usr/share/datasets/fashion-mnist"; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; \
	else echo "run: sudo apt-get install -y dataset-fashion-mnist"; exit 1; fi
	@if [ -d /usr/share/wordnet ]; then echo "WordNet 3.0 is installed at /usr/share/wordnet"; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wordnet-base; \
	else echo "run: sudo apt-get install -y wordnet-base"; exit 1; fi
	python3 data/make_wordnet.py full

bench: build data
	bash bench/run.sh

lint:
	$(SWIFT) format lint --strict -r Sources Tests

clean:
	rm -rf .build runs
