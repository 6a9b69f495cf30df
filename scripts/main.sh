#!/usr/bin/env bash
# The README's main command: install, build, then fit and evaluate tables for GELU, HSWISH,
# EXP, DIV and RSQRT (and SiLU) at 8 and 16 entries with every method, beside the official
# tables and the paper's figures. Extra arguments go to `gqalut compare`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GQALUT_WITH_TORCH="${GQALUT_WITH_TORCH:-OFF}" bash "$root/scripts/build.sh" gqalut
cd "$root"
exec ./build/tools/gqalut compare "$@"
