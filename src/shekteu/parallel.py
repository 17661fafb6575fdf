"""Running Dask tasks with bounded memory: on local threads, or on a cluster named by ``--scheduler``.

Field mapping scores raster windows and seismic detection scans recording files this way. Locally,
each task runs on Dask's synchronous scheduler in one of ``workers`` threads with at most two per
thread in flight, so results are consumed (and their memory freed) while the next tasks run; with a
scheduler address the tasks go to a Dask cluster whose workers have shekteu installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any


def run_tasks(tasks: list, scheduler: str | None, workers: int, on_progress: Callable[[int, int], None] | None,
              *, error: type[Exception] = RuntimeError) -> Iterator[Any]:
    """Results of the tasks as they finish (order does not matter: each carries its position)."""
    total = len(tasks)
    if scheduler:
        try:
            from distributed import Client, as_completed
        except ImportError:
            raise error("--scheduler needs dask.distributed: pip install distributed") from None
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise error(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            futures = client.compute(tasks)
            for done, future in enumerate(as_completed(futures), 1):
                yield future.result()
                future.release()
                if on_progress:
                    on_progress(done, total)
        return
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    # Local: each task runs on Dask's synchronous scheduler in one of ``workers`` threads, with at most
    # two per thread in flight, so finished windows are assembled (and their memory released) while
    # the next ones run, and no thread waits for a slow window of a batch.
    queue = iter(tasks)
    with ThreadPoolExecutor(workers) as pool:
        running = {pool.submit(t.compute, scheduler="sync") for t in islice(queue, 2 * workers)}
        done = 0
        while running:
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()
                done += 1
                following = next(queue, None)
                if following is not None:
                    running.add(pool.submit(following.compute, scheduler="sync"))
            if on_progress:
                on_progress(done, total)
