from __future__ import annotations

import multiprocessing
import os
import time

import pytest

from sysprep.request import TargetKind, TargetSpec
from sysprep.target import lock_for
from sysprep.target.lock import Busy, TargetLock


def test_a_run_leaves_no_lock_file_for_its_target(dirty, run):
    path = lock_for(TargetSpec(TargetKind.ROOT, root=dirty.path), dirty.path).path
    r = run("--generalize", "--root", dirty.path)
    assert r.code == 0, r.err
    assert not os.path.exists(path)


def test_a_second_holder_is_refused_with_the_first_holders_pid(tmp_path):
    key = f"test-{os.getpid()}-{tmp_path.name}"
    with TargetLock(key, "the test target"), pytest.raises(Busy, match=f"PID {os.getpid()}"):
        TargetLock(key, "the test target").acquire()
    assert not os.path.exists(TargetLock(key, "x").path)


def _hold_many_times(key: str, marker: str, rounds: int, clashes) -> None:
    for _ in range(rounds):
        lock = TargetLock(key, "the test target")
        lock.acquire(wait=True)
        try:
            try:  # whoever else holds the lock now would have made it too
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                clashes.value += 1
                continue
            os.close(fd)
            time.sleep(0.0005)
            os.unlink(marker)
        finally:
            lock.release()


def test_the_lock_stays_exclusive_while_its_file_is_removed_and_made_again(tmp_path):
    # waiters may hold the removed file of an earlier holder: they must notice and lock anew
    key = f"test-{os.getpid()}-{tmp_path.name}"
    ctx = multiprocessing.get_context("fork")
    clashes = ctx.Value("i", 0)
    procs = [
        ctx.Process(target=_hold_many_times, args=(key, str(tmp_path / "held"), 300, clashes))
        for _ in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert clashes.value == 0
    assert not os.path.exists(TargetLock(key, "x").path)
