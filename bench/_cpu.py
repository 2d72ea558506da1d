"""CPU seconds by process, read from /proc, for the benches that say which process used the machine."""

import os
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Proc:
    pid: int
    parent: int
    group: int
    name: str


def cpu_seconds(match) -> float:
    """User and system CPU of every process that `match(Proc)` accepts, its reaped children included."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if match(Proc(int(entry.name), int(fields[1]), int(fields[2]), name)):
            total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return total / TICKS


def machine_busy_seconds() -> float:
    """The whole machine's busy time so far (less idle and iowait), whoever used it."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / TICKS
