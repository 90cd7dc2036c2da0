"""Memory and CPU of a process and all its descendants, read from /proc."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PROC = Path("/proc")


def descendants(root: int) -> list[int]:
    """root and every process below it (children of children included)."""
    children: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses; fields resume after the last ')'.
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in (_PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kib(pid: int) -> int:
    # Proportional set size: each shared page counted once over the processes that map it,
    # so a tree's sum does not count gunicorn's forked pages once per worker as RSS does.
    try:
        for line in (_PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


@dataclass(frozen=True)
class Sample:
    """A moment's reading of a process tree."""

    rss_mib: float
    peak_mib: float
    pss_mib: float
    cpu_s: float
    processes: int


def sample(root: int) -> Sample:
    """Resident memory now, its peak (VmHWM), proportional set size and CPU seconds, summed over the tree."""
    pids = descendants(root)
    rss = sum(_status_kib(pid, "VmRSS") for pid in pids)
    peak = sum(_status_kib(pid, "VmHWM") for pid in pids)
    pss = sum(_pss_kib(pid) for pid in pids)
    cpu = sum(_cpu_seconds(pid) for pid in pids)
    return Sample(rss / 1024, peak / 1024, pss / 1024, cpu, len(pids))
