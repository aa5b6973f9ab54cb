"""Every c10d operation on the "colossus" backend, under torchrun with 1, 2, 3
and 4 processes: c10d_ops_worker.py checks each against float64 references
built from every rank's inputs and against gloo's result in the same job."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
try:
    import colossus.torch  # noqa: F401
except ImportError as e:  # pragma: no cover - the build has no backend
    pytest.skip(f"colossus.torch is not importable: {e}", allow_module_level=True)

WORKER = Path(__file__).with_name("c10d_ops_worker.py")


@pytest.mark.parametrize("nprocs", [1, 2, 3, 4])
def test_every_c10d_op_against_gloo_and_references(nprocs, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", C10D_OPS_OUT=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nprocs}",
         str(WORKER)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    for rank in range(nprocs):
        passed, failed = (tmp_path / f"rank{rank}").read_text().split()
        assert int(failed) == 0, out[-6000:]
        assert int(passed) >= 200  # every case ran on every rank
