"""The HTTP routes of the History page's audio (webapp/audio_api.py): play an entry's kept audio, re-transcribe
it, and list, play and transcribe the recordings waiting for a transcript. Uploads to the server run in the
loop's executor (they take seconds); everything else is quick file work on the loop thread."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from tray_client.webapp.api import ApiError, WebApi
from tray_client.webapp.audio_api import AudioError

__all__ = ["add_audio_routes"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: object) -> web.Response:
    return web.Response(text=json.dumps(data, ensure_ascii=False), content_type="application/json",
                        headers={"Cache-Control": "no-store"})


def _wav(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="audio/wav", headers={"Cache-Control": "no-store"})


def _row(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError as error:
        raise ApiError(400, "not a history entry id") from error


def add_audio_routes(app: web.Application, api: WebApi) -> None:
    """Add the routes; an AudioError becomes an ApiError (the server's middleware answers it as JSON)."""

    def answer(handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except AudioError as error:
                raise ApiError(error.status, str(error)) from error
        return wrapped

    async def entry_audio(request: web.Request) -> web.Response:
        return _wav(api.audio.entry_wav(api.entry(_row(request))))

    async def retranscribe(request: web.Request) -> web.Response:
        entry = api.entry(_row(request))
        wav = api.audio.entry_wav(entry)
        loop = asyncio.get_running_loop()
        return _json(await loop.run_in_executor(None, api.audio.transcribe, f"{entry.utterance_id}.wav", wav))

    async def recovered(_request: web.Request) -> web.Response:
        return _json(api.audio.recovered())

    async def recovered_audio(request: web.Request) -> web.Response:
        return _wav(api.audio.recovered_file(request.match_info["name"]).read_bytes())

    async def transcribe_recovered(request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        done = await loop.run_in_executor(None, api.audio.transcribe_recovered, request.match_info["name"])
        return _json(api.add_recovered(done))

    app.router.add_get("/api/history/{id}/audio", answer(entry_audio))
    app.router.add_post("/api/history/{id}/retranscribe", answer(retranscribe))
    app.router.add_get("/api/recovered", answer(recovered))
    app.router.add_get("/api/recovered/{name}/audio", answer(recovered_audio))
    app.router.add_post("/api/recovered/{name}/transcribe", answer(transcribe_recovered))
