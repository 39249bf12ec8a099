# Three commands on a fresh machine (Node >= 20; Debian's ffmpeg, redis-server, slurm-wlm, munge, chromium are installed when missing):
#   make demo   install, then run the paper's AVA few-shot grid on the embedded demo world
#   make test   install, then lint/typecheck and run every test (nothing outside the clone needed)
#   make eval   the checks and figures on real data (EXP_DATA; default: shared/data beside the checkout)
#   make native opt-in: tfjs-node built against the tensorflow-cpu wheel (docs/performance.md: "Building native TensorFlow")
SHELL := /bin/bash
BIN := node_modules/.bin
# package:command pairs (installed when the command is missing; a /path is a file that must exist)
APT_PACKAGES := ffmpeg:ffmpeg redis-server:redis-server slurm-wlm:slurmctld munge:munged chromium:chromium \
  fonts-dejavu-core:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
BENCH_APT_PACKAGES := python3-torch python3-numpy
# the peer of bench/s2a.ts's training row: Debian's `fasttext supervised`
BENCH_APT_FASTTEXT := fasttext
BENCHES := cli engine executors spec input-checks track screenplay s2a s2a-quality bert-finetune captions extract demo-world s3dg charts scale

.PHONY: all install build deps node-deps test typecheck lint demo eval eval-data bench clean help native native-check native-clean

all: test

help:
	@echo "make demo | make test | make eval | make bench | make deps | make clean | make native | make native-check"

# System packages where missing and apt is available: Debian's ffmpeg (with ffprobe), and redis-server
# (the bullmq executor's tests start one on a free loopback port), slurm-wlm and munge (the slurm
# executor's tests bring up a one-node cluster with scripts/slurm-one-node.sh), chromium (the report's
# browser test drives it through playwright-core) and the DejaVu fonts (chart PNGs set their text in them).
deps:
	@missing=""; for pc in $(APT_PACKAGES); do c=$${pc#*:}; case $$c in /*) [ -e $$c ];; *) command -v $$c >/dev/null 2>&1 || [ -x /usr/sbin/$$c ];; esac || missing="$$missing $${pc%%:*}"; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "missing:$$missing — install it (e.g. sudo apt-get install$$missing, brew install ffmpeg) or set FFMPEG_PATH/FFPROBE_PATH" >&2; exit 1; \
	  fi; \
	fi

# node_modules follows package-lock.json; plain `npm ci` works offline (.npmrc, allowScripts).
node_modules/.installed: package.json package-lock.json
	npm ci
	@touch $@

node-deps: node_modules/.installed

install: deps node-deps build

# dist/: the JavaScript bin/exp.js runs (tsc, incremental). `npm ci` builds it too (the prepare
# script); this rule rebuilds it when a source changed since.
SOURCES := $(shell find src -name '*.ts' ! -name '*.test.ts') tsconfig.json tsconfig.build.json package.json
dist/.built: $(SOURCES) | node-deps
	node scripts/build.mjs

build: dist/.built

typecheck: install
	$(BIN)/tsc -p tsconfig.json --noEmit

# Biome: lint (recommended rules, see biome.json) and format check (line width 120).
lint: install
	$(BIN)/biome lint
	$(BIN)/biome format

# The summary runs whatever vitest's exit status (it explains a run that died without its report,
# from the timeline the timeline reporter keeps in coverage/test-timeline.log).
test: install lint typecheck
	@mkdir -p coverage && rm -f coverage/test-results.json coverage/test-timeline.log
	$(BIN)/vitest run --coverage --reporter=default --reporter=json --outputFile.json=coverage/test-results.json \
	  --reporter=./test/helpers/timeline-reporter.ts; node scripts/test-summary.cjs coverage/test-results.json $$?

demo: install
	node bin/exp.js run experiments/ava_fewshot.yaml

# Real-data checks and the figures of docs/results.md and docs/performance.md. Fails at once, saying what to set, without the data.
eval-data:
	@node eval/data-dir.cjs

eval: eval-data install
	$(BIN)/vitest run --config vitest.eval.config.ts --reporter=default --reporter=json --outputFile.json=coverage/eval-results.json
	@node scripts/test-summary.cjs coverage/eval-results.json
	$(BIN)/tsx eval/figures.ts
	$(BIN)/tsx eval/s2a-bert.ts

bench: install
	@if ! /usr/bin/python3 -c 'import torch' 2>/dev/null && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BENCH_APT_PACKAGES) >/dev/null; fi
	@if ! command -v fasttext >/dev/null && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BENCH_APT_FASTTEXT) >/dev/null; fi
	for b in $(BENCHES); do echo "== bench/$$b.ts"; $(BIN)/tsx bench/$$b.ts || exit 1; done

# Opt-in native TensorFlow backend (docs/performance.md: "Building native TensorFlow"): pip gets the tensorflow-cpu
# wheel (EXP_TF_WHEEL=file or EXP_TF_LIB_DIR=dir override it), its C library and headers go to .native/,
# and tfjs-node 4.22's N-API binding is compiled against them with npm's node-gyp. Idempotent (stamp);
# `make native-clean` removes it. The default backend stays wasm when .native/ is absent.
native:
	@test -f .native/node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node || rm -f .native/.built
	@$(MAKE) --no-print-directory .native/.built

.native/.built: scripts/native-build.sh package-lock.json | node-deps
	bash scripts/native-build.sh

native-clean:
	rm -rf .native

# The video/ml tests on the native backend and its parity with wasm. Refuses (exit 1) without `make native`.
native-check: node-deps
	@test -f .native/.built && test -f .native/node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node || \
	  { echo "make native-check: the native backend is not built; run \`make native\` first" >&2; exit 1; }
	$(BIN)/vitest run --config vitest.native.config.ts --reporter=default --reporter=json --outputFile.json=coverage/native-results.json
	@node scripts/test-summary.cjs coverage/native-results.json

clean:
	rm -rf runs coverage dist node_modules/.installed
