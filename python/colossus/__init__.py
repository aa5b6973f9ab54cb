"""colossus: collective communication for host memory, GPUs and simulation.

    import threading, numpy as np, colossus

    comms = colossus.loopback_group(4)          # 4 ranks in this process
    def rank(c):
        y = c.allreduce(np.full(8, c.rank, np.float32))   # a new array
        c.allreduce(y, out=y, op="max")                    # in place
    threads = [threading.Thread(target=rank, args=(c,)) for c in comms]

Collectives take any C-contiguous buffer-protocol object (NumPy arrays
first); the element type comes from the buffer (bfloat16 and fp8 by dtype=
over uint16/uint8 buffers). Bad arguments raise TypeError or ValueError;
failures of the library (a peer that failed, an abort, a timeout) raise
colossus.Error, a RuntimeError whose `code` names the cause ("Aborted",
"RemoteError", ...). Every blocking call releases the GIL, so ranks may run
on Python threads and abort() may come from another one.

colossus.sim simulates a collective on a modeled fabric (see colossus.sim).
colossus.torch (imported separately) is the torch.distributed backend.
"""

import contextlib as _contextlib

from colossus._core import (
    CommState,
    Communicator,
    DataType,
    Error,
    ReduceOp,
    UniqueId,
    group_end,
    group_simulate_end,
    group_start,
    init,
    init_from_env,
    loopback_group,
    make_unique_id,
    parse_unique_id,
)
from colossus import sim

__all__ = [
    "CommState",
    "Communicator",
    "DataType",
    "Error",
    "ReduceOp",
    "UniqueId",
    "group",
    "group_end",
    "group_simulate_end",
    "group_start",
    "init",
    "init_from_env",
    "loopback_group",
    "make_unique_id",
    "parse_unique_id",
    "sim",
]


@_contextlib.contextmanager
def group():
    """Calls inside run together at the end of the block (group_start/group_end).

    If the block raises, the outermost group is dropped without running its
    calls (group_simulate_end), so that this rank does not start half a
    schedule its peers may never match.
    """
    group_start()
    try:
        yield
    except BaseException:
        # Inside nested groups the innermost `with` drops the whole group;
        # the outer ones then find none to drop.
        try:
            group_simulate_end()
        except Error:
            pass
        raise
    group_end()
