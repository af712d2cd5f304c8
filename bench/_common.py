"""What the benchmark scripts share: median timings, the tests' synthetic library, and the one JSON line they report.

The scripts run as `python bench/NAME.py` with the repository root put on `sys.path` first, and import this module as
`bench._common`.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def median_ms(fn: Callable[[], object], repeat: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """Median milliseconds of `repeat` calls of `fn` on `clock`, after one warm-up call (imports, allocator, BLAS)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return statistics.median(times) * 1000


def synthetic_library(n: int, **kwargs):
    """`tests/synthetic.py`'s synthetic library of `n` tracks (the tests' helper, put on `sys.path` on first use)."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from synthetic import synthetic_library as make

    return make(n, **kwargs)


def report(result: dict, out: Path | None) -> None:
    """Print `result` as one JSON line and, with `out`, append that line to the file too."""
    line = json.dumps(result)
    print(line)
    if out:
        with open(out, "a") as fh:
            fh.write(line + "\n")
