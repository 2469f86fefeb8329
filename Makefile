# IPC Lab — the two commands of the README:
#   make serve   install what the service needs, build it (release) and run it on 127.0.0.1:8080
#   make test    install what the tests need, build, run the Swift tests, then the end-to-end tests
#
# Variables: HOST, PORT (serve); SWIFT; BUILD_DIR (swift's scratch path, default .build);
# SWIFT_TEST_FLAGS; PYTEST_FLAGS; SETUP_TEST_FLAGS (default --test --browser: e2e/browser needs Chromium).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

SWIFT ?= swift
BUILD_DIR ?= .build
HOST ?= 127.0.0.1
PORT ?= 8080
PUBLIC ?= public
VENV ?= .build/e2e-venv
SETUP_TEST_FLAGS ?= --test --browser
SWIFT_TEST_FLAGS ?=
PYTEST_FLAGS ?= -q
SWIFT_BUILD := $(SWIFT) build --scratch-path $(BUILD_DIR)
SWIFT_TEST := $(SWIFT) test --scratch-path $(BUILD_DIR)
DEBUG_BIN := $(abspath $(BUILD_DIR))/debug/ipclab
RELEASE_BIN := $(abspath $(BUILD_DIR))/release/ipclab

export IPCLAB_VENV := $(VENV)

.PHONY: help setup setup-test build release serve test unit e2e openapi bench soak oracle-soak clean runner runner-release

# The C runner (docs/c-runner.md): a static-pie glibc image, built by cc because SwiftPM cannot link
# a static C executable here (swiftc links libswiftCore). It links CIPCLab's C as it is, these files:
RUNNER_CIPCLAB := ring signals shm sem mq sockets pipes bench bench_latency bench_sync limits seccomp \
	system memory program_root setup_ahead huge_code huge_code_file huge_relro
RUNNER_SOURCES := $(wildcard Sources/ipclab-runner/*.c) $(RUNNER_CIPCLAB:%=Sources/CIPCLab/%.c)
RUNNER_HEADERS := $(wildcard Sources/ipclab-runner/*.h Sources/CIPCLab/include/*.h Sources/CIPCLab/*.h)
# Its text alone in a 2-MiB-aligned segment, so that the spawner's copy of it maps by one huge page
# (CodePages, huge_code_file.c; README, "Runners").
RUNNER_CFLAGS := -O2 -static-pie -Wl,-z,separate-code -Wl,-z,max-page-size=0x200000 -D_GNU_SOURCE -Wall -Wextra -ISources/CIPCLab/include -ISources/ipclab-runner

help:
	@echo "make serve   build (release) and run the service on http://$(HOST):$(PORT)"
	@echo "make test    build, then run the Swift tests and the end-to-end tests"
	@echo "make bench   the service benchmark: our figures next to bare baselines (see README)"
	@echo "make soak    10,000 mixed runs on a release server: memory, descriptors, threads, leaks"
	@echo "make oracle-soak  200 random runs of every preset, plain and jittered, against e2e/oracle.py"
	@echo "make build | release | runner | unit | e2e | openapi | clean"

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh $(SETUP_TEST_FLAGS)

# The tracer of C programs (libIPCLabTrace.so, next to the binary) is a product `swift build` leaves out.
build: setup runner
	$(SWIFT_BUILD)
	$(SWIFT_BUILD) --product IPCLabTrace

release: setup runner-release
	$(SWIFT_BUILD) -c release
	$(SWIFT_BUILD) -c release --product IPCLabTrace

# The C runner beside the debug and the release `ipclab` (the spawner is told where it is): in SwiftPM's
# own directories, which $(BUILD_DIR)/debug and /release link to (made here first on a fresh clone, a
# real .build/debug directory would stop SwiftPM from making its link).
SWIFT_TRIPLE := $(shell uname -m)-unknown-linux-gnu
RUNNER_DEBUG := $(BUILD_DIR)/$(SWIFT_TRIPLE)/debug/ipclab-runner
RUNNER_RELEASE := $(BUILD_DIR)/$(SWIFT_TRIPLE)/release/ipclab-runner
runner: $(RUNNER_DEBUG)
runner-release: $(RUNNER_RELEASE)

$(RUNNER_DEBUG) $(RUNNER_RELEASE): $(RUNNER_SOURCES) $(RUNNER_HEADERS)
	@mkdir -p $(@D)/
	$(CC) $(RUNNER_CFLAGS) -o $@ $(RUNNER_SOURCES)

serve: release
	$(RELEASE_BIN) serve --host $(HOST) --port $(PORT) --public $(PUBLIC)

# `make test` builds, then runs the Swift tests and the end-to-end tests; both run even when the
# first fails (so one failure does not hide the other's report), and it fails if either did.
test: setup-test runner
	$(SWIFT_BUILD)
	$(SWIFT_BUILD) --product IPCLabTrace
	status=0; \
	$(SWIFT_TEST) $(SWIFT_TEST_FLAGS) || status=$$?; \
	IPCLAB_BIN=$(DEBUG_BIN) $(VENV)/bin/python -m pytest e2e $(PYTEST_FLAGS) || status=$$?; \
	if [ $$status -ne 0 ]; then echo "make test: FAILED (see above)" >&2; fi; \
	exit $$status

# The Swift tests alone, and the end-to-end tests alone against the current debug build.
unit: setup runner
	$(SWIFT_TEST) $(SWIFT_TEST_FLAGS)

e2e: setup-test runner
	$(SWIFT_BUILD)
	IPCLAB_BIN=$(DEBUG_BIN) $(VENV)/bin/python -m pytest e2e $(PYTEST_FLAGS)

openapi: setup-test
	$(VENV)/bin/python -m openapi_spec_validator openapi.yaml

# The benchmark (issue 6): never a timed test; it prints ratios against baselines run alongside.
bench: release
	@scripts/setup.sh --bench
	python3 bench/bench.py --binary $(RELEASE_BIN) $(BENCH_FLAGS)

# The soak test (issue 8): never in `make test`; SOAK_FLAGS e.g. --runs 2000 for a shorter one.
soak: release
	python3 bench/soak.py --binary $(RELEASE_BIN) $(SOAK_FLAGS)

# The oracle soak (issue 15): never in `make test`; ORACLE_SOAK_FLAGS e.g. --runs 20 --presets mq.full.
oracle-soak: release
	python3 bench/oracle_soak.py --binary $(RELEASE_BIN) $(ORACLE_SOAK_FLAGS)

# The C runner's participants (Sources/ipclab-runner/participant*.c) against the Swift runner, preset
# by preset, outside the sandbox (needs root and a debug build: IPCLAB_BIN; PRESETS to pick some).
.PHONY: participant-check
participant-check:
	Tests/ipclab-runner/participant_check.sh $(PRESETS)

clean:
	$(SWIFT) package clean --scratch-path $(BUILD_DIR)
	rm -rf $(VENV)
