"""Python's cycle collector in Reachout's long-running processes (serve, worker, ingest).

Reachout's work allocates tens of thousands of short-lived rows, dicts and events per pass or batch,
none of them in a cycle: reference counting frees them. At CPython's default first-generation
threshold (700 new containers) the cyclic collector ran after every few hundred of them, and each of
its fuller passes walked the whole long-lived heap again (imported modules, SQLAlchemy's compiled
statements, the botocore models): a quarter of the dispatch's CPU (benchmarks/engine.py) and of the
stream consumer's (benchmarks/triggers.py).
"""
from __future__ import annotations

import gc

FIRST_GENERATION = 50_000  # new containers between two collections of the youngest generation


def settle_after_start() -> None:
    """Called once the process has built what it keeps for its life: that heap is collected once and
    then left out of every later pass (gc.freeze), and the youngest generation is collected less
    often. A threshold of 0 (collector off) or one already larger was chosen on purpose and is kept."""
    gc.collect()
    gc.freeze()
    rarer()


def rarer(threshold: int = FIRST_GENERATION) -> None:
    """The youngest generation collected after `threshold` new containers rather than CPython's 700."""
    first, *older = gc.get_threshold()
    if 0 < first < threshold:
        gc.set_threshold(threshold, *older)
