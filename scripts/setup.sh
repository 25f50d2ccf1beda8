#!/usr/bin/env bash
# One-time setup after cloning: the system packages the engine's fast path and the test suite
# need, then the npm dependencies (whose `prepare` builds dist/ and dist/web). Safe to re-run.
# Used by the README's first command and by .ci/run; after it, `npm test` runs every test except
# the few that need the ../shared datasets.
#
# Why a script and not an npm lifecycle hook: installing system packages from `npm install` would
# also fire for every project that depends on facemae; here it happens only when asked.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
# libopenblas0-pthread: native BLAS for the engine. gcc + libc6-dev: the engine's native kernels,
# compiled once on first use (cached under ~/.cache/facemae; without a compiler the engine keeps
# its WebAssembly kernels, one core). chromium: the browser tests (web app, report).
# redis-server (+ redis-cli) and openssl: the job-queue tests, which start their own Redis (plain
# and TLS) on a free port of 127.0.0.1. Extra Debian packages can be passed as arguments.
need=()
case "$(uname -s)" in
  Linux)
    if command -v dpkg >/dev/null 2>&1; then
      for p in libopenblas0-pthread gcc libc6-dev chromium redis-server openssl "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
      done
      if [ ${#need[@]} -gt 0 ]; then
        echo "setup: installing ${need[*]} (apt-get)" >&2
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
      fi
    else
      ldconfig -p 2>/dev/null | grep -q libopenblas ||
        echo "setup: no dpkg here; install OpenBLAS with your package manager (e.g. dnf install openblas-threads) for the fast engine" >&2
      echo "setup: no dpkg here; the browser and queue tests also need /usr/bin/chromium, redis-server and openssl (they skip without)" >&2
    fi
    ;;
  Darwin) ;; # Accelerate ships with macOS
esac

# onnxruntime-node's postinstall would download its CUDA provider (hundreds of MB) on linux/x64;
# the CPU build it ships is all facemae uses, so skip it (works offline). Set here, not in .npmrc:
# npm warns about unknown keys there on every npm/npx command.
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund
