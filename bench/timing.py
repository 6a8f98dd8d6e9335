"""Timing helpers shared by the benchmark scripts (imported as ``timing``: a script's own folder
is on ``sys.path`` when it runs as ``python bench/<script>.py``).

Both wall and CPU time are measured: CPU time adds up every thread of this process and ignores
other processes, so it stays meaningful on a machine busy with other work, where wall times stretch.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU (all threads) seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def median_seconds(fn: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    """Median wall time and median process CPU time of ``repeats`` calls, and the last result."""
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), out
