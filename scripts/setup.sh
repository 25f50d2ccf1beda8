#!/usr/bin/env bash
# One-time setup after cloning: the system packages the engine's fast path needs, then the npm
# dependencies. Safe to re-run. Used by the README's first command and by .ci/run.
#
# Why a script and not an npm lifecycle hook: installing system packages from `npm install` would
# also fire for every project that depends on facemae; here it happens only when asked.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
# Extra Debian packages can be passed as arguments (.ci/run adds the test-only ones).
need=()
case "$(uname -s)" in
  Linux)
    if command -v dpkg >/dev/null 2>&1; then
      for p in libopenblas0-pthread "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
      done
      if [ ${#need[@]} -gt 0 ]; then
        echo "setup: installing ${need[*]} (apt-get)" >&2
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
      fi
    elif ! ldconfig -p 2>/dev/null | grep -q libopenblas; then
      echo "setup: no dpkg here; install OpenBLAS with your package manager (e.g. dnf install openblas-threads) for the fast engine" >&2
    fi
    ;;
  Darwin) ;; # Accelerate ships with macOS
esac

export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund
