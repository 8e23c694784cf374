#!/usr/bin/env bash
# Installs what zoo needs to build and test on a fresh Debian machine (run as root).
# Idempotent: packages already present are skipped quickly.
set -euo pipefail
pkgs=(pkg-config libhdf5-dev libzip-dev libblas-dev libopenblas0-pthread zip unzip)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's alternatives make libblas.so.3 point at OpenBLAS once it is installed; say which one is in use.
if command -v update-alternatives >/dev/null; then
  update-alternatives --query "libblas.so.3-$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)" 2>/dev/null | awk '/^Value:/{print "bootstrap: libblas.so.3 -> "$2}' >&2 || true
fi
