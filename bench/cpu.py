"""CPU time of process trees (a server, PostgreSQL), read with psutil around a run."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import psutil

# A process is known by (pid, start time): a pid reused by a new process is another one.
_Key = tuple[int, float]


@dataclass(frozen=True, slots=True)
class CpuSample:
    seconds: dict[_Key, float]


class ProcessTreeCpu:
    """User + system CPU seconds of a process and all its descendants.

    A descendant started during a run counts from zero; one that ended during it loses
    its last seconds (servers keep their processes, so this is rare and small).
    """

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)

    def sample(self) -> CpuSample:
        seconds: dict[_Key, float] = {}
        with contextlib.suppress(psutil.NoSuchProcess):
            for process in (self.root, *self.root.children(recursive=True)):
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    times = process.cpu_times()
                    key = (process.pid, process.create_time())
                    seconds[key] = times.user + times.system
        return CpuSample(seconds)

    @staticmethod
    def used(before: CpuSample, after: CpuSample) -> float:
        """CPU seconds spent between two samples."""
        return sum(value - before.seconds.get(key, 0.0) for key, value in after.seconds.items())


def postgres_tree(backend_pid: int) -> ProcessTreeCpu | None:
    """The local PostgreSQL server that runs this backend, or None if it is not local."""
    try:
        backend = psutil.Process(backend_pid)
        postmaster = backend.parent()
        if postmaster is None or "postgres" not in " ".join(postmaster.cmdline()).lower():
            return None
        return ProcessTreeCpu(postmaster.pid)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
