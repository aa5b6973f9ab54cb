"""PyTorch from PyPI on colossus's libnccl.so.2 (ctest: nccl_torch_dropin_test).

Run with the python of scripts/install-python.sh (torch and pytest). ctest
sets COLOSSUS_LIBNCCL (our libnccl.so.2), COLOSSUS_NCCL_H (our nccl.h) and NM.
Needs no GPU.

Two facts of torch 2.15 shape the probe. torch.cuda.nccl.version() is the
version torch was built against (NCCL_MAJOR/MINOR/PATCH of its build), not
the loaded library's; the loaded one's is
ProcessGroupNCCL.get_runtime_nccl_version() (ncclGetVersion). And `import
torch` dlopens the wheel's nvidia/nccl/lib/libnccl.so.2 by path (its
_preload_cuda_deps), so with LD_PRELOAD alone both files are mapped (ours
binds every symbol, NVIDIA's sits unused). A directory first on PYTHONPATH
holding nvidia/nccl/lib/libnccl.so.2 -> ours makes that preload find ours.
"""

import ctypes
import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys

LIB = os.path.realpath(os.environ["COLOSSUS_LIBNCCL"])
HEADER = os.environ["COLOSSUS_NCCL_H"]
NM = os.environ.get("NM") or "nm"
TORCH_DIR = pathlib.Path(importlib.util.find_spec("torch").origin).parent


def nccl_symbols(path, which):
    """The nccl* names that `path` imports (which="undefined") or exports."""
    out = subprocess.run([NM, "-D", f"--{which}-only", str(path)], check=True,
                         capture_output=True, text=True).stdout
    names = {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}
    return {n for n in names if n.startswith("nccl")}


def our_version():
    """(major, minor, patch) of our library by ncclGetVersion, and its code."""
    code = ctypes.c_int(0)
    assert ctypes.CDLL(LIB).ncclGetVersion(ctypes.byref(code)) == 0
    c = code.value
    if c < 20900:  # releases up to 2.8: X*1000+Y*100+Z
        return (c // 1000, c % 1000 // 100, c % 100), c
    return (c // 10000, c % 10000 // 100, c % 100), c


def test_libtorch_cuda_imports_only_what_we_define():
    torch_cuda = TORCH_DIR / "lib" / "libtorch_cuda.so"
    needed = nccl_symbols(torch_cuda, "undefined")
    assert needed, f"{torch_cuda} imports no nccl* symbol: not a CUDA build of torch?"
    missing = sorted(needed - nccl_symbols(LIB, "defined"))
    assert not missing, f"libtorch_cuda.so needs {len(missing)} nccl* symbols we lack: {missing}"


def test_our_version_is_the_header_s():
    text = pathlib.Path(HEADER).read_text()
    header_code = int(re.search(r"#define NCCL_VERSION_CODE (\d+)", text).group(1))
    assert our_version()[1] == header_code


PROBE = """
import json, torch
from torch._C._distributed_c10d import ProcessGroupNCCL
maps = sorted({l.split()[-1] for l in open("/proc/self/maps") if "libnccl" in l})
print(json.dumps({"build": list(torch.cuda.nccl.version()),
                  "runtime": list(ProcessGroupNCCL.get_runtime_nccl_version()), "maps": maps}))
"""


def test_torch_preloaded_with_ours_uses_only_ours(tmp_path):
    shadow = tmp_path / "nvidia" / "nccl" / "lib"
    shadow.mkdir(parents=True)
    (shadow / "libnccl.so.2").symlink_to(LIB)
    env = dict(os.environ, LD_PRELOAD=LIB, CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(tmp_path))
    run = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    ours = our_version()[0]
    assert tuple(seen["runtime"]) == ours
    assert tuple(seen["build"][:2]) == ours[:2], "torch was built for another NCCL release"
    assert seen["maps"] == [LIB], f"libnccl files mapped besides ours: {seen['maps']}"
