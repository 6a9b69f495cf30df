#!/usr/bin/env bash
# The README's test command: install what is missing, build everything, run every test.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/build.sh"
cd "$root/build"
ctest -j "${GQALUT_JOBS:-2}" --output-on-failure --timeout 900
