"""What the web routes share: the runtime, templates, upload limits and background processing."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

from fastapi import BackgroundTasks, Request, UploadFile

from shekteu.runtime import Runtime, hash_key
from shekteu.tips.intake import TipError
from shekteu.tips.privacy import pseudonym


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


@lru_cache(maxsize=1)
def templates() -> Any:
    from fastapi.templating import Jinja2Templates

    return Jinja2Templates(directory=str(resources.files("shekteu.web").joinpath("templates")))


def client_id(request: Request) -> str:
    """A stable id for an anonymous web reporter (their address, hashed at once; used for rate limits)."""
    host = request.client.host if request.client else "unknown"
    return "ip:" + pseudonym(hash_key(runtime(request).settings), "web-client", host)


async def read_upload(upload: UploadFile | None, limit: int) -> bytes | None:
    """The uploaded file, read no further than ``limit`` bytes (an empty field is None)."""
    if upload is None or not upload.filename:
        return None
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise TipError(f"the photo is larger than {limit} bytes")
    return data or None


def _process(rt: Runtime) -> None:
    from shekteu.tips.process import process_pending

    process_pending(rt)


def process_later(background: BackgroundTasks, rt: Runtime) -> None:
    """Capture and classify new tips after the answer has gone out."""
    background.add_task(_process, rt)
