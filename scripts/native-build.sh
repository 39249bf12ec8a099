#!/usr/bin/env bash
# `make native`: builds @tensorflow/tfjs-node 4.22.0's N-API binding against the TensorFlow C API
# shipped inside the tensorflow-cpu wheel (pip, no libtensorflow download), into .native/ (ignored):
#   .native/tf/                           libtensorflow_cc.so.2, libtensorflow_framework.so.2, C headers
#   .native/node_modules/@tensorflow/tfjs-node/{dist,deps,lib/napi-v8/tfjs_binding.node}
#   .native/node_modules/{@mapbox/node-pre-gyp,progress,google-protobuf}  (tfjs-node's runtime needs)
# tfjs-node lives outside node_modules so `npm ci` cannot drop it, and it has no @tensorflow/tfjs of
# its own: `require('@tensorflow/tfjs')` from it walks up to the project's node_modules, so its kernels
# register on the one tfjs-core instance exp uses (src/ml/backend.ts looks here first).
# Overrides: EXP_TF_WHEEL=path/to/tensorflow*.whl, or EXP_TF_LIB_DIR=dir holding
# libtensorflow_cc.so.2 (or libtensorflow.so.2), libtensorflow_framework.so.2 and include/tensorflow/c/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=$ROOT/.native
TF_WHEEL_SPEC=${EXP_TF_WHEEL_SPEC:-tensorflow-cpu==2.21.0}
# tfjs-node must match the project's tfjs-core (its kernels register there): 4.22.0 today.
TFJS_NODE=$(node -p "require('./node_modules/@tensorflow/tfjs-core/package.json').version") ||
  { echo 'make native: node_modules is missing (npm ci first)' >&2; exit 1; }
PYTHON=${EXP_NATIVE_PYTHON:-python3}
mkdir -p "$N"
say() { echo "make native: $*"; }
die() { echo "make native: $*" >&2; exit 1; }

# 1. The TensorFlow C library and headers.
if [ -n "${EXP_TF_LIB_DIR:-}" ]; then
  TF=$(cd "$EXP_TF_LIB_DIR" && pwd)
  say "TensorFlow libraries from EXP_TF_LIB_DIR=$TF"
else
  TF=$N/tf
  if [ ! -f "$TF/.extracted" ]; then
    whl=${EXP_TF_WHEEL:-}
    if [ -z "$whl" ]; then
      mkdir -p "$N/wheel"
      whl=$(ls "$N"/wheel/tensorflow*.whl 2>/dev/null | head -1 || true)
      if [ -z "$whl" ]; then
        say "pip download $TF_WHEEL_SPEC (about 270 MB)"
        "$PYTHON" -m pip download "$TF_WHEEL_SPEC" --no-deps --only-binary=:all: -d "$N/wheel" -q 2> >(grep -v "^WARNING" >&2) ||
          die "pip could not get $TF_WHEEL_SPEC; set EXP_TF_WHEEL=path/to/wheel or EXP_TF_LIB_DIR=dir"
        whl=$(ls "$N"/wheel/tensorflow*.whl | head -1)
      fi
    fi
    [ -f "$whl" ] || die "no wheel at $whl"
    say "extracting the C library and headers from $(basename "$whl")"
    rm -rf "$TF" && mkdir -p "$TF"
    "$PYTHON" - "$whl" "$TF" <<'PY'
import sys, zipfile, os
whl, out = sys.argv[1], sys.argv[2]
keep = ('tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2')
n = 0
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        # C API headers and the few they include (tstring: core/platform -> tsl/platform)
        hdr = name.endswith('.h') and name.startswith(
            ('tensorflow/include/tensorflow/c/', 'tensorflow/include/tensorflow/core/platform/',
             'tensorflow/include/tsl/platform/', 'tensorflow/include/xla/tsl/c/', 'tensorflow/include/xla/tsl/platform/'))
        if name in keep or hdr:
            dest = os.path.join(out, name[len('tensorflow/'):])
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with z.open(name) as src, open(dest, 'wb') as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            n += 1
missing = [k for k in keep if not os.path.exists(os.path.join(out, k[len('tensorflow/'):]))]
if missing:
    sys.exit(f'wheel lacks {missing}')
print(f'  {n} files')
PY
    touch "$TF/.extracted"
  fi
fi
TFLIB=$TF/libtensorflow_cc.so.2
[ -f "$TFLIB" ] || TFLIB=$TF/libtensorflow.so.2
[ -f "$TFLIB" ] || die "no libtensorflow_cc.so.2 / libtensorflow.so.2 in $TF"
[ -f "$TF/libtensorflow_framework.so.2" ] || die "no libtensorflow_framework.so.2 in $TF"
[ -f "$TF/include/tensorflow/c/eager/c_api.h" ] || die "no include/tensorflow/c/eager/c_api.h in $TF"

# 2. tfjs-node's package (its own install script is never run: it downloads libtensorflow 2.9.1).
PKG=$N/node_modules/@tensorflow/tfjs-node
if [ ! -f "$PKG/package.json" ] || ! grep -q "\"version\": \"$TFJS_NODE\"" "$PKG/package.json"; then
  say "npm pack @tensorflow/tfjs-node@$TFJS_NODE"
  (cd "$N" && npm pack "@tensorflow/tfjs-node@$TFJS_NODE" --silent >/dev/null) || die "npm pack @tensorflow/tfjs-node@$TFJS_NODE failed"
  [ -f "$N/.deps-installed" ] || {
    say "npm install tfjs-node's runtime dependencies into .native"
    printf '{"private":true}\n' >"$N/package.json"
    (cd "$N" && npm install --ignore-scripts --no-audit --no-fund --silent \
      @mapbox/node-pre-gyp@1.0.9 progress@2.0.3 google-protobuf@3.21.4) || die "npm install of tfjs-node's dependencies failed"
    touch "$N/.deps-installed"
  }
  rm -rf "$PKG" && mkdir -p "$PKG"
  tar xzf "$N/tensorflow-tfjs-node-$TFJS_NODE.tgz" -C "$PKG" --strip-components=1
fi
# Never a second tfjs: it would get its own kernel registrations.
for d in "$N"/node_modules/@tensorflow/*; do
  [ "$(basename "$d")" = tfjs-node ] || rm -rf "$d"
done

# 3. deps/ as binding.gyp expects it: deps/include, deps/lib/libtensorflow{,_framework}.so*
mkdir -p "$PKG/deps/lib"
rm -rf "$PKG/deps/include" && ln -sr "$TF/include" "$PKG/deps/include"
ln -sfr "$TFLIB" "$PKG/deps/lib/$(basename "$TFLIB")"
ln -sfr "$TFLIB" "$PKG/deps/lib/libtensorflow.so"
ln -sfr "$TF/libtensorflow_framework.so.2" "$PKG/deps/lib/libtensorflow_framework.so.2"
ln -sfr "$TF/libtensorflow_framework.so.2" "$PKG/deps/lib/libtensorflow_framework.so"

# 4. Compile the binding with the node-gyp that ships with npm, against this node's headers.
NODE_GYP=${EXP_NODE_GYP:-$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js}
[ -f "$NODE_GYP" ] || die "node-gyp not found at $NODE_GYP (set EXP_NODE_GYP)"
NODEDIR=${EXP_NODEDIR:-}
if [ -z "$NODEDIR" ]; then
  for d in /usr /usr/local "$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"; do
    [ -f "$d/include/node/common.gypi" ] && NODEDIR=$d && break
  done
fi
[ -n "$NODEDIR" ] || die "node's headers (include/node/common.gypi) not found; set EXP_NODEDIR"
NAPI=8
say "compiling tfjs_binding.node (node-gyp, --nodedir=$NODEDIR, N-API $NAPI)"
(cd "$PKG" && node "$NODE_GYP" rebuild --nodedir="$NODEDIR" --module_name=tfjs_binding \
  --module_path="$PKG/lib/napi-v$NAPI" --napi_build_version=$NAPI -j 2 --loglevel=warn) >"$N/build.log" 2>&1 ||
  { tail -30 "$N/build.log" >&2; die "node-gyp failed (log: .native/build.log)"; }
[ -f "$PKG/lib/napi-v$NAPI/tfjs_binding.node" ] || die "node-gyp ran but lib/napi-v$NAPI/tfjs_binding.node is missing"

# 5. Load it through exp's backend chooser (no LD_LIBRARY_PATH: the binding's rpath is $ORIGIN/../../deps/lib).
node_modules/.bin/tsx scripts/native-smoke.ts || die "the binding was built but does not load (see above)"
date -u +%FT%TZ >"$N/.built"
