"""`pip install .` (pyproject.toml + setup.py, no network, no build isolation) into a fresh venv
made with --system-site-packages, import from another folder, `pip uninstall` removes every file;
and scripts/install_python.sh, the thin wrapper (here into a prefix: pip --target).
The extension is built in $GQALUT_BUILD_DIR (ctest sets it to the build tree under test)."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PIP = ["--no-build-isolation", "--no-index", "--disable-pip-version-check"]
CHECK = ("import gqalut, gqalut.torch, numpy as np; print(gqalut.__file__); "
         "t = gqalut.fit('gelu', method='uniform', entries=4, scales=3); "
         "print(t.entries, int(t.apply(np.arange(-128, 128, dtype=np.int8), 3)[200]) == t[3].eval_acc(72))")


def build_dir():
    build = os.environ.get("GQALUT_BUILD_DIR")
    if not build:
        import gqalut  # the package under test: build/python/gqalut
        build = str(pathlib.Path(gqalut.__file__).resolve().parents[2])
    return build


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("PIP_")}
    env.update(GQALUT_BUILD_DIR=build_dir(), **extra)
    return env


def run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    return r


def test_pip_install_into_a_venv_and_uninstall(tmp_path):
    venv = tmp_path / "venv"
    r = run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv])
    assert r.returncode == 0, r.stderr
    py, pip = venv / "bin" / "python", [venv / "bin" / "python", "-m", "pip"]
    env = clean_env()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert run([py, "-c", "import gqalut"], cwd=elsewhere, env=env).returncode == 1  # not there before
    r = run([*pip, "install", *PIP, ROOT], env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "Successfully installed gqalut-" in r.stdout
    site = pathlib.Path(run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            env=env).stdout.strip())
    r = run([py, "-c", CHECK], cwd=elsewhere, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(site / "gqalut" / "__init__.py"), "4", "True"]
    installed = sorted(p.relative_to(site) for p in site.rglob("*") if "gqalut" in str(p.relative_to(site)))
    assert pathlib.Path("gqalut/_core" + run([py, "-c", "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))"],
                                             env=env).stdout.strip()) in installed
    r = run([*pip, "uninstall", "-y", "gqalut"], env=env)
    assert r.returncode == 0 and "Successfully uninstalled gqalut-" in r.stdout, r.stderr
    assert not [p for p in site.rglob("*") if "gqalut" in str(p.relative_to(site))]  # every file removed
    r = run([py, "-c", "import gqalut"], cwd=elsewhere, env=env)
    assert r.returncode == 1 and "No module named 'gqalut'" in r.stderr
    # The in-tree build leaves nothing in the source tree (setuptools' scratch lives in build/pip).
    assert not list(ROOT.glob("*.egg-info")) and not list((ROOT / "python").glob("*.egg-info"))


def test_install_script_is_a_thin_wrapper_over_pip(tmp_path):
    prefix = tmp_path / "site"
    r = run(["bash", ROOT / "scripts" / "install_python.sh"], env=clean_env(GQALUT_PYTHON_PREFIX=str(prefix)))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert f"installed gqalut into {prefix}/gqalut" in r.stdout
    assert (prefix / "gqalut" / "__init__.py").exists() and list((prefix / "gqalut").glob("_core*.so"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run([sys.executable, "-c", CHECK], cwd=elsewhere, env=clean_env(PYTHONPATH=str(prefix)))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(prefix / "gqalut" / "__init__.py"), "4", "True"]
    script = (ROOT / "scripts" / "install_python.sh").read_text()
    assert "pip install --no-build-isolation" in script and "cp -r" not in script
    # A prefix it cannot write is refused with one line (root writes anywhere: not observable there).
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    r = run(["bash", ROOT / "scripts" / "install_python.sh"], env=clean_env(GQALUT_PYTHON_PREFIX=str(ro)))
    ro.chmod(0o700)
    if os.geteuid() != 0:
        assert r.returncode == 1 and r.stderr.strip() == f"install_python.sh: cannot write {ro}"
