"""Child processes that die with their parent, however it dies (issue 20).

A capture's text-extraction workers and the job worker that ``shekteu serve`` starts must not run on
after their parent is killed with SIGKILL: Linux's ``PR_SET_PDEATHSIG`` delivers them a signal the
moment it goes. Elsewhere it is a no-op.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """In a child: receive ``sig`` when the process that started it dies."""
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, sig)
    if os.getppid() == 1:  # the parent died before the line above ran
        os._exit(1)


# The embedded worker yields the CPU to the web process: a citizen waiting for a ticket comes before
# classifying the tips already taken (on 2 cores it took the web process's share in a burst).
WORKER_NICENESS = 10


def _worker_child() -> None:
    die_with_parent(signal.SIGTERM)
    os.nice(WORKER_NICENESS)


def worker_process() -> subprocess.Popen[bytes]:
    """``shekteu worker`` as a child of this process (``serve`` runs one beside the web server, so
    the web process's interpreter is left to the requests), at a lower CPU priority. If this process
    is killed, the worker gets SIGTERM and stops after its running jobs."""
    return subprocess.Popen([sys.executable, "-c", "from shekteu.cli import main; main()", "worker"],
                            preexec_fn=_worker_child)  # fmt: skip
