"""Shared helpers of test_core.py and test_sim.py."""

import os
import pathlib
import threading

import pytest


def run_ranks(comms, fn, timeout=60):
    """fn(comm) on a thread per rank; the results in rank order.

    The first exception of any rank is raised here, so a test sees the real
    failure rather than a hang: every rank's wait is bounded by the
    communicator's timeout_s.
    """
    results = [None] * len(comms)
    errors = [None] * len(comms)

    def body(i, c):
        try:
            results[i] = fn(c)
        except BaseException as e:  # noqa: BLE001 - handed to the test
            errors[i] = e

    threads = [threading.Thread(target=body, args=(i, c)) for i, c in enumerate(comms)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a rank did not return"
    for e in errors:
        if e is not None:
            raise e
    return results


@pytest.fixture(scope="session")
def build_dir():
    d = os.environ.get("COLOSSUS_BUILD_DIR")
    if not d:
        pytest.skip("COLOSSUS_BUILD_DIR is not set (ctest sets it)")
    return pathlib.Path(d)
