# Two commands do everything on a fresh machine:
#   make demo   install, then run the paper's AVA few-shot grid on the embedded demo world
#   make test   install, then typecheck and run every test with coverage
SHELL := /bin/bash
APT_PACKAGES := ffmpeg
BENCH_APT_PACKAGES := python3-torch python3-numpy
BENCHES := engine spec track screenplay s2a s2a-quality captions extract demo-world s3dg

.PHONY: all install deps node-deps test typecheck demo bench clean help

all: test

help:
	@echo "make demo | make test | make bench | make deps | make clean"

# System packages: Debian's ffmpeg (with ffprobe) where it is missing and apt is available.
deps:
	@missing=""; for p in $(APT_PACKAGES); do command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "missing:$$missing — install it (e.g. sudo apt-get install$$missing, brew install ffmpeg) or set FFMPEG_PATH/FFPROBE_PATH" >&2; exit 1; \
	  fi; \
	fi

# node_modules follows package-lock.json; offline-safe (see README: tfjs-node is optional).
node_modules/.installed: package.json package-lock.json
	npm ci
	@touch $@

node-deps: node_modules/.installed

install: deps node-deps

typecheck: install
	npx tsc -p tsconfig.json --noEmit

test: install typecheck
	npx vitest run --coverage --reporter=default --reporter=json --outputFile.json=coverage/test-results.json
	@node -e 'const r=require("./coverage/test-results.json"); console.log(`tests: $${r.numPassedTests} passed, $${r.numFailedTests} failed, $${r.numPendingTests} skipped`)'

demo: install
	node bin/exp.js run experiments/ava_fewshot.yaml

bench: install
	@if ! /usr/bin/python3 -c 'import torch' 2>/dev/null && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BENCH_APT_PACKAGES) >/dev/null; fi
	for b in $(BENCHES); do echo "== bench/$$b.ts"; npx tsx bench/$$b.ts || exit 1; done

clean:
	rm -rf runs coverage node_modules/.installed
