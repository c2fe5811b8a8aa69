"""Builds the compiled CTC search core ``decoders._ctc_core`` (C++17, pybind11, KenLM's query code).

Everything else about the package is declared in pyproject.toml. KenLM is LGPL and not part of this
repository: its sources come from the kenlm sdist on PyPI. ``ASRKIT_KENLM_SRC`` names an unpacked sdist
(install.sh sets it to .venv/src/kenlm-*); without it the sdist is downloaded once into build/kenlm/.
If the extension cannot be built, the install goes on without it and asrkit uses its Python search
(one warning when it is first needed; install.sh stops there instead). Compiled KenLM objects and the
built module are cached under build/ by the hash of their sources and flags.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
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


def _digest(*parts: object, files: list[Path] = ()) -> str:
    h = hashlib.sha1()
    for part in parts:
        h.update(repr(part).encode())
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


class BuildCore(build_ext):
    """Compiles decoders._ctc_core: KenLM's query code as a static library and our sources, each file in
    parallel, both cached under build/ by content so that a re-run of install.sh links nothing new."""

    def build_extension(self, ext: Extension) -> None:
        try:
            self._build_core(ext)
        except Exception as err:  # a broken toolchain must not break the install: Python search is the fallback
            log(f"not building {ext.name} ({type(err).__name__}: {err}); asrkit will use its Python CTC search")

    def _compile(self, sources: list[str], out_dir: Path, ext: Extension, extra: list[str]) -> list[str]:
        out_dir.mkdir(parents=True, exist_ok=True)

        def one(src: str) -> list[str]:
            return self.compiler.compile([src], output_dir=str(out_dir), macros=ext.define_macros,
                                         include_dirs=ext.include_dirs, extra_postargs=ext.extra_compile_args + extra)

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            return [obj for objs in pool.map(one, sources) for obj in objs]

    def _build_core(self, ext: Extension) -> None:
        src = kenlm_source()
        kenlm_files = sorted(
            f for f in glob.glob(str(src / "util" / "*.cc")) + glob.glob(str(src / "lm" / "*.cc"))
            + glob.glob(str(src / "util" / "double-conversion" / "*.cc"))
            if not (f.endswith("main.cc") or f.endswith("test.cc")))
        compiler = os.environ.get("CXX", "g++")
        for header, lib, flag in (("zlib.h", "z", "HAVE_ZLIB"), ("bzlib.h", "bz2", "HAVE_BZLIB"),
                                  ("lzma.h", "lzma", "HAVE_XZLIB")):
            if _links(compiler, header, lib):
                ext.define_macros.append((flag, None))
                ext.libraries.append(lib)
        ext.include_dirs = [str(src), str(CSRC), *ext.include_dirs]
        flags = (ext.define_macros, ext.extra_compile_args, self.compiler.compiler_so, sysconfig.get_config_var(
            "EXT_SUFFIX"))
        kenlm_key = _digest(str(src.resolve()), flags, files=[Path(f) for f in kenlm_files])
        ours = sorted(CSRC.glob("*.cc")) + sorted(CSRC.glob("*.hh"))
        import pybind11  # its include folder is a new temporary one in every isolated build: key on the version

        core_key = _digest(kenlm_key, flags, pybind11.__version__, files=ours)
        target = Path(self.get_ext_fullpath(ext.name))
        cached = ROOT / "build" / f"ctc_core-{core_key}{target.suffix}"
        if not cached.is_file():
            lib_dir = ROOT / "build" / f"kenlm-{kenlm_key}"
            lib = lib_dir / self.compiler.library_filename("kenlm_query")
            if not lib.is_file():
                log(f"compiling KenLM's query code ({len(kenlm_files)} files) from {src}")
                objs = self._compile(kenlm_files, lib_dir / "obj", ext, ["-w"])
                self.compiler.create_static_lib(objs, "kenlm_query", output_dir=str(lib_dir))
            log("compiling the CTC search core (decoders/csrc)")
            objs = self._compile([str(p) for p in sorted(CSRC.glob("*.cc"))], Path(self.build_temp) / "ctc_core",
                                 ext, [])
            saved = ext.sources, ext.extra_objects
            # Everything is compiled: the base class only links (and names the output as Python expects).
            ext.sources, ext.extra_objects = [], [*objs, str(lib)]
            try:
                self.force = True
                super().build_extension(ext)
            finally:
                ext.sources, ext.extra_objects = saved
            tmp = cached.with_suffix(f".tmp{os.getpid()}")
            shutil.copyfile(target, tmp)
            os.replace(tmp, cached)  # atomic: a concurrent build sees all of it or none
        else:
            log(f"decoders._ctc_core unchanged: {cached.relative_to(ROOT)}")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached, target)


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
    extra_compile_args=["-std=c++17", "-O3", "-g0", "-fvisibility=hidden"],
    language="c++",
)

setup(ext_modules=[core], cmdclass={"build_ext": BuildCore})
