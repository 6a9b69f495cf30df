"""setuptools glue for `pip install .` (see pyproject.toml): the pure-Python package is
python/gqalut, and the extension gqalut._core is the CMake target gqalut_python, built in

* $GQALUT_BUILD_DIR when set (an existing CMake build tree of this project), else
* <repository>/build (the tree scripts/build.sh makes; configured here, Release, when absent),

then copied into the wheel. Nothing is downloaded: pip needs --no-build-isolation (Debian's
setuptools, wheel and pybind11). GQALUT_JOBS sets the build parallelism (default: all CPUs).
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent
SETUPTOOLS_DIR = ROOT / "build" / "pip"  # setuptools' own scratch (kept out of the source tree)


def version() -> str:
    m = re.search(r"project\(gqalut VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text())
    if not m:
        raise SystemExit("setup.py: no 'project(gqalut VERSION x.y.z' in CMakeLists.txt")
    return m.group(1)


def fail(message: str) -> None:
    """One line on stderr (pip shows it), then a failed build."""
    print(f"gqalut setup.py: error: {message}", file=sys.stderr)
    raise SystemExit(1)


def cached(cache: pathlib.Path, key: str) -> str:
    for line in cache.read_text(errors="replace").splitlines():
        if line.startswith(key + ":"):
            return line.split("=", 1)[1]
    return ""


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        if shutil.which("cmake") is None:
            fail("cmake is not installed (Debian: apt-get install cmake ninja-build)")
        build = pathlib.Path(os.environ.get("GQALUT_BUILD_DIR") or ROOT / "build").resolve()
        cache = build / "CMakeCache.txt"
        interpreter = os.path.realpath(sys.executable)
        if not cache.exists():
            cmd = ["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                   f"-DGQALUT_PYTHON_EXECUTABLE={interpreter}"]
            if shutil.which("ninja"):
                cmd += ["-G", "Ninja"]
            print("gqalut setup.py: configuring", build, flush=True)
            if subprocess.run(cmd).returncode != 0:
                fail(f"configuring {build} failed (cmake output above)")
        elif cached(cache, "GQALUT_WITH_PYTHON") not in ("ON", "TRUE", "1"):
            fail(f"{build} is configured without the Python package (GQALUT_WITH_PYTHON is not ON: "
                 "is pybind11-dev installed?); set GQALUT_BUILD_DIR to another directory")
        jobs = os.environ.get("GQALUT_JOBS") or str(os.cpu_count() or 2)
        print(f"gqalut setup.py: cmake --build {build} --target gqalut_python -j {jobs}", flush=True)
        if subprocess.run(["cmake", "--build", str(build), "--target", "gqalut_python", "-j", jobs]).returncode != 0:
            fail(f"building the extension in {build} failed (compiler output above)")
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        built = build / "python" / "gqalut" / f"_core{suffix}"
        if not built.exists():
            others = sorted(p.name for p in (build / "python" / "gqalut").glob("_core*"))
            fail(f"{build} built {', '.join(others) or 'no _core'} for "
                 f"{cached(cache, 'GQALUT_PYTHON_EXECUTABLE') or 'another Python'}, not _core{suffix} for "
                 f"{interpreter}; set GQALUT_BUILD_DIR to a new directory to build for this Python")
        dest = pathlib.Path(self.get_ext_fullpath(ext.name))
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, dest)


SETUPTOOLS_DIR.mkdir(parents=True, exist_ok=True)
for stale in SETUPTOOLS_DIR.glob("lib.*"):  # a module removed from python/gqalut must not ship from here
    shutil.rmtree(stale, ignore_errors=True)
setup(
    version=version(),
    packages=["gqalut"],
    package_dir={"gqalut": "python/gqalut"},
    ext_modules=[Extension("gqalut._core", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    options={"build": {"build_base": str(SETUPTOOLS_DIR)}, "egg_info": {"egg_base": str(SETUPTOOLS_DIR)}},
    zip_safe=False,
)
