#!/usr/bin/env bash
# The test command: installs what is missing (Debian packages), builds once, runs every test.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build --build-tests
swift test --skip-build
