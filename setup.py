"""Builds the compiled CTC search core ``decoders._ctc_core`` (C++17, pybind11, KenLM's query code).

Everything else about the package is declared in pyproject.toml. KenLM is LGPL and not part of this
repository: its sources come from the kenlm sdist on PyPI. ``ASRKIT_KENLM_SRC`` names an unpacked sdist
(install.sh sets it to .venv/src/kenlm-*); without it the sdist is downloaded once into build/kenlm/.
If the extension cannot be built, the install goes on without it and asrkit uses its Python search
(one warning when it is first needed).
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
CSRC = ROOT / "decoders" / "csrc"
KENLM_CACHE = ROOT / "build" / "kenlm"


def log(msg: str) -> None:
    print(f"[asrkit setup] {msg}", file=sys.stderr, flush=True)


def _unpacked(folder: Path) -> Path | None:
    for d in sorted(folder.glob("kenlm-*/")):
        if (d / "lm" / "model.cc").is_file():
            return d
    return None


def kenlm_source() -> Path:
    """The unpacked kenlm sdist: ASRKIT_KENLM_SRC, an earlier download, or a new ``pip download``."""
    env = os.environ.get("ASRKIT_KENLM_SRC")
    if env:
        src = Path(env)
        if not (src / "lm" / "model.cc").is_file():
            raise RuntimeError(f"ASRKIT_KENLM_SRC={env}: not an unpacked kenlm sdist (no lm/model.cc)")
        return src
    found = _unpacked(KENLM_CACHE)
    if found:
        return found
    KENLM_CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        log("downloading the kenlm sdist (KenLM's query code is compiled into decoders._ctc_core)")
        # The pip that runs this build; under build isolation "python -m pip" still finds pip itself.
        for cmd in ([sys.executable, "-m", "pip"], ["pip3"], ["pip"]):
            try:
                subprocess.run([*cmd, "download", "-q", "--no-deps", "--no-binary", "kenlm", "-d", tmp, "kenlm"],
                               check=True, stdout=subprocess.DEVNULL)
                break
            except (OSError, subprocess.CalledProcessError):
                continue
        archives = glob.glob(os.path.join(tmp, "kenlm-*.tar.gz"))
        if not archives:
            raise RuntimeError("could not download the kenlm sdist (pip download --no-binary kenlm kenlm)")
        with tarfile.open(archives[0]) as tar:
            # The "data" filter (Python >= 3.11.4, 3.10.12) refuses paths outside the target folder.
            kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(KENLM_CACHE, **kwargs)
    found = _unpacked(KENLM_CACHE)
    if not found:
        raise RuntimeError(f"{KENLM_CACHE}: the kenlm sdist has no lm/model.cc")
    return found


def _links(compiler: str, header: str, lib: str) -> bool:
    """Whether ``header`` compiles and ``-l lib`` links (KenLM reads compressed ARPA files when they do)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "t.cc"
        src.write_text(f"#include <{header}>\nint main() {{ return 0; }}\n")
        cmd = [compiler, str(src), f"-l{lib}", "-o", str(Path(tmp) / "t")]
        return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


class BuildCore(build_ext):
    """Finds KenLM's sources at build time (not at import of setup.py) and compiles in parallel."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1

    def build_extension(self, ext: Extension) -> None:
        try:
            src = kenlm_source()
        except RuntimeError as err:
            log(f"not building {ext.name}: {err}; asrkit will use its Python CTC search")
            return
        files = glob.glob(str(src / "util" / "*.cc")) + glob.glob(str(src / "lm" / "*.cc")) + glob.glob(
            str(src / "util" / "double-conversion" / "*.cc"))
        ext.sources = [s for s in ext.sources if "kenlm" not in s] + sorted(
            f for f in files if not (f.endswith("main.cc") or f.endswith("test.cc")))
        ext.include_dirs = [str(src), str(CSRC), *ext.include_dirs]
        compiler = os.environ.get("CXX", "g++")
        for header, lib, flag in (("zlib.h", "z", "HAVE_ZLIB"), ("bzlib.h", "bz2", "HAVE_BZLIB"),
                                  ("lzma.h", "lzma", "HAVE_XZLIB")):
            if _links(compiler, header, lib):
                ext.define_macros.append((flag, None))
                ext.libraries.append(lib)
        try:
            super().build_extension(ext)
        except Exception as err:  # a broken toolchain must not break the install: Python search is the fallback
            log(f"building {ext.name} failed ({err}); asrkit will use its Python CTC search")


def _pybind11_include() -> str:
    import pybind11

    return pybind11.get_include()


core = Extension(
    "decoders._ctc_core",
    sources=[str(p.relative_to(ROOT)) for p in sorted(CSRC.glob("*.cc"))],
    depends=[str(p.relative_to(ROOT)) for p in sorted(CSRC.glob("*.hh"))],
    include_dirs=[_pybind11_include()],
    define_macros=[("KENLM_MAX_ORDER", "6"), ("NDEBUG", None), ("HAVE_CLOCKGETTIME", None)],
    libraries=["rt"] if sys.platform.startswith("linux") else [],
    # No -ffast-math: the search must round exactly as the Python reference does.
    extra_compile_args=["-std=c++17", "-O3", "-g0", "-fvisibility=hidden", "-Wno-sign-compare",
                        "-Wno-unused-local-typedefs"],
    language="c++",
)

setup(ext_modules=[core], cmdclass={"build_ext": BuildCore})
