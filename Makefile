# Enhance — on a fresh machine, `make demo` and `make test` are all you need.
# Every target installs the Debian packages it needs when they are missing.

SWIFT        ?= swift
CONFIG       ?= release
BIN          := .build/$(CONFIG)/enhance
DATASETS     ?= $(CURDIR)/../shared/datasets
export ENHANCE_DATASETS ?= $(DATASETS)

DEB_PACKAGES := libpng-dev libjpeg62-turbo-dev libwebp-dev libopenblas-dev
OCR_PACKAGES := tesseract-ocr
VENV         := .venv-bench
TEST_FLAGS   ?=

.PHONY: all deps build demo test bench bench-peers clean

all: build

# Install missing system libraries (root on Debian; uses sudo otherwise).
deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build -c $(CONFIG) --product enhance

demo: build
	@mkdir -p out
	$(BIN) demo --output out

test: deps
	$(SWIFT) build -c $(CONFIG) --build-tests
	$(SWIFT) test -c $(CONFIG) --skip-build $(TEST_FLAGS)

bench: build
	$(BIN) bench

bench-peers: build
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	@$(VENV)/bin/python -c "import onnxruntime, cv2, onnx, numpy" 2>/dev/null || \
	  $(VENV)/bin/pip install -q onnxruntime opencv-python-headless onnx numpy
	$(VENV)/bin/python benchmarks/peers.py --enhance $(BIN)

clean:
	rm -rf .build out
