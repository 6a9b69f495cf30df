"""scripts/install_python.sh installs the built package so that `import gqalut, gqalut.torch`
works from any directory (here into a temporary prefix, from the build tree ctest uses)."""
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_install_into_prefix_and_import_elsewhere(tmp_path):
    build = os.environ.get("GQALUT_BUILD_DIR")
    if not build:
        import gqalut  # the package under test: build/python/gqalut
        build = str(pathlib.Path(gqalut.__file__).resolve().parents[2])
    prefix = tmp_path / "site"
    env = dict(os.environ, GQALUT_BUILD_DIR=build, GQALUT_PYTHON_PREFIX=str(prefix))
    r = subprocess.run(["bash", str(ROOT / "scripts" / "install_python.sh")], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"installed gqalut into {prefix}/gqalut" in r.stdout
    assert not list(prefix.rglob("__pycache__"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(prefix)
    code = ("import gqalut, gqalut.torch; print(gqalut.__file__); "
            "t = gqalut.fit('gelu', method='uniform', entries=4, scales=3); print(t.entries)")
    r = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(prefix / "gqalut" / "__init__.py"), "4"]
    # A prefix it cannot write is refused with one line.
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    r = subprocess.run(["bash", str(ROOT / "scripts" / "install_python.sh")],
                       env=dict(os.environ, GQALUT_BUILD_DIR=build, GQALUT_PYTHON_PREFIX=str(ro)),
                       capture_output=True, text=True)
    ro.chmod(0o700)
    if os.geteuid() != 0:  # root writes anywhere: there the refusal cannot be observed
        assert r.returncode == 1 and "cannot write" in r.stderr
