#!/usr/bin/env bash
# Installs the Python package gqalut for /usr/bin/python3 (no network beyond Debian packages):
# builds it with scripts/build.sh (target python_package) and copies build/python/gqalut into
# the interpreter's site directory (/usr/local/lib/python3.X/dist-packages on Debian).
# Afterwards `/usr/bin/python3 -c "import gqalut, gqalut.torch"` works from any directory.
# GQALUT_PYTHON_PREFIX=DIR installs into DIR instead (then put DIR on PYTHONPATH);
# GQALUT_BUILD_DIR=DIR installs an already built tree DIR/python/gqalut without building.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py=/usr/bin/python3
if [[ -z "${GQALUT_BUILD_DIR:-}" ]]; then
  bash "$root/scripts/build.sh" python_package
fi
src="${GQALUT_BUILD_DIR:-$root/build}/python/gqalut"
[[ -f "$src/__init__.py" ]] || { echo "install_python.sh: $src was not built" >&2; exit 1; }
dest="${GQALUT_PYTHON_PREFIX:-$("$py" -c 'import site; print(site.getsitepackages()[0])')}"
mkdir -p "$dest"
if [[ ! -w "$dest" ]]; then
  echo "install_python.sh: cannot write $dest (run as root, or set GQALUT_PYTHON_PREFIX=DIR)" >&2
  exit 1
fi
tmp="$dest/.gqalut.tmp.$$"
rm -rf "$tmp"
cp -r "$src" "$tmp"
find "$tmp" -name __pycache__ -prune -exec rm -rf {} +
rm -rf "$dest/gqalut"
mv "$tmp" "$dest/gqalut"
(cd / && PYTHONPATH="${GQALUT_PYTHON_PREFIX:+$dest}" "$py" -c "import gqalut, gqalut.torch; print('installed gqalut into $dest/gqalut (kernels: ' + gqalut.isa() + ')')")
