"""Read-ahead: a batch iterator run in a background thread, a few batches ahead of its
consumer (errors in the producer are raised in the consumer)."""

from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator


def prefetch(batches: Iterable, depth: int, stage=None) -> Iterator:
    """Iterate ``batches`` in a background thread, ``depth`` batches ahead (0: inline), applying
    ``stage`` (e.g. pinning memory) to each item in that thread."""
    if stage is not None:
        batches = map(stage, batches)
    if depth <= 0:
        yield from batches
        return
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in batches:
                while not stop.is_set():
                    try:
                        items.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(("end", done))
        except BaseException as err:  # handed to the consumer, re-raised there
            items.put(("error", err))

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while True:
            tag, item = items.get()
            if tag == "end":
                return
            if tag == "error":
                raise item
            yield item
    finally:
        stop.set()
