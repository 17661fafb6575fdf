"""A process that forks a fresh `shekteu` command per request, its libraries already imported.

About 300 CLI runs in the suite each started an interpreter and imported SQLAlchemy, Typer, Rich,
Pydantic, Alembic and the rest again: 0.4–0.5 s of a 2-core machine per run before the command did
anything. This process imports those third-party libraries once; each request forks a child that sets
the environment, working directory and standard streams it was given and then imports the project
and runs ``shekteu.cli.main`` — so our own modules (settings, consoles that look at the terminal) start
fresh, exactly as in a new interpreter. The child ends through the interpreter's normal exit (atexit
handlers, thread joins, flushes) and its exit status is sent back.

Protocol (one JSON object per line on the request pipe, one on the reply pipe):
``{"args", "env", "cwd", "stdin", "stdout", "stderr", "timeout"}`` → ``{"returncode"}`` or
``{"timeout": true}`` (the child killed).
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import sys


def _preload() -> None:
    """Import what ``shekteu.cli`` imports, except the project itself: learnt from a forked child."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        import shekteu.cli  # noqa: F401

        names = [m for m in sys.modules if not m.startswith(("shekteu", "tests", "__"))]
        with os.fdopen(write, "w") as out:
            out.write("\n".join(names))
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as got:
        names = got.read().split()
    os.waitpid(pid, 0)
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:
            pass


def _child(request: dict) -> None:
    os.setsid()  # its own process group: a timeout kills the command and what it started
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, path, mode in ((0, request["stdin"], os.O_RDONLY), (1, request["stdout"], os.O_WRONLY),
                           (2, request["stderr"], os.O_WRONLY)):  # fmt: skip
        opened = os.open(path, mode)
        os.dup2(opened, fd)
        os.close(opened)
    sys.argv = ["shekteu", *request["args"]]
    from shekteu.cli import main

    main()  # SystemExit travels up through serve() to the interpreter's own exit


def _wait(pid: int, timeout: float) -> dict:
    handle = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([handle], [], [], timeout)
    finally:
        os.close(handle)
    if not ready:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        return {"timeout": True}
    _, status = os.waitpid(pid, 0)
    return {"returncode": os.waitstatus_to_exitcode(status)}


def serve(requests: int, replies: int) -> None:
    _preload()
    with os.fdopen(requests) as inbox, os.fdopen(replies, "w") as outbox:
        for line in inbox:
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                inbox.close()
                outbox.close()
                _child(request)
                raise SystemExit(0)
            outbox.write(json.dumps(_wait(pid, request["timeout"])) + "\n")
            outbox.flush()


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
