"""torch.distributed on colossus.

Importing this module registers the backend "colossus" for CPU and CUDA
tensors, so that

    import colossus.torch
    torch.distributed.init_process_group("colossus")

works under torchrun and with the env://, tcp:// and file:// init methods:
the communicator's unique id travels through the process group's c10d store,
so no extra port is needed. "cpu:colossus,cuda:nccl" style strings work too.
"""

import torch
import torch.distributed as dist

from . import _backend

BACKEND_NAME = "colossus"


def _register():
    if BACKEND_NAME in dist.Backend.backend_list:
        return
    dist.Backend.register_backend(BACKEND_NAME, _backend.create_backend, devices=["cpu", "cuda"])


_register()

__all__ = ["BACKEND_NAME"]
