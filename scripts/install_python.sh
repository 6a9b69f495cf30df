#!/usr/bin/env bash
# Installs the Python package gqalut for /usr/bin/python3: a thin wrapper over
#   /usr/bin/python3 -m pip install --no-build-isolation --no-index --break-system-packages .
# (pyproject.toml + setup.py build the extension with CMake; no network). Remove it with
# `/usr/bin/python3 -m pip uninstall --break-system-packages gqalut`. In a venv, run its pip
# yourself (docs/python.md). GQALUT_PYTHON_PREFIX=DIR installs into DIR instead (pip --target;
# put DIR on PYTHONPATH); GQALUT_BUILD_DIR=DIR builds the extension in that CMake tree.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py=/usr/bin/python3
"$py" -m pip --version >/dev/null 2>&1 || { echo "install_python.sh: pip is missing (apt-get install python3-pip)" >&2; exit 1; }
if [[ -n "${GQALUT_PYTHON_PREFIX:-}" ]]; then
  mkdir -p "$GQALUT_PYTHON_PREFIX"
  [[ -w "$GQALUT_PYTHON_PREFIX" ]] || { echo "install_python.sh: cannot write $GQALUT_PYTHON_PREFIX" >&2; exit 1; }
  "$py" -m pip install --no-build-isolation --no-index --no-deps --upgrade --target "$GQALUT_PYTHON_PREFIX" "$root"
  dest="$GQALUT_PYTHON_PREFIX"
else
  "$py" -m pip install --no-build-isolation --no-index --break-system-packages "$root"
  dest=""
fi
(cd / && PYTHONPATH="$dest" "$py" -c "import gqalut, gqalut.torch, os; print('installed gqalut into ' + os.path.dirname(gqalut.__file__) + ' (kernels: ' + gqalut.isa() + ')')")
