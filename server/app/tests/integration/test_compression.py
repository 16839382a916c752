"""gzip on the API's text answers (JSON, CSV, VTT) when the client accepts it; never on
JPEG or MP4; a streamed answer is compressed as it goes, not gathered whole first."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.responses import Response, StreamingResponse
from fastapi.testclient import TestClient

from app.api.compression import install_compression
from app.api.main import create_app
from app.settings import Settings

pytestmark = pytest.mark.integration
CSV_ROW = b"12,480,person,3,10,20,30,40,0.91,\n"
ROWS = 20_000  # ~680 KB of CSV
CHUNK_ROWS = 1000


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_json_answers_are_gzipped_only_when_the_client_accepts_it(client):
    plain = client.get("/openapi.json", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    raw = client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in raw.headers["vary"]
    assert int(raw.headers["content-length"]) < len(plain.content) / 3
    assert raw.json() == plain.json()  # httpx decodes it: the same document


def test_small_answers_are_not_worth_compressing(client):
    response = client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers


def toy_app() -> FastAPI:
    """The same compression set-up on routes shaped like the exports and frames."""
    app = FastAPI()
    install_compression(app)
    produced: list[int] = []
    app.state.produced = produced

    def rows():
        for start in range(0, ROWS, CHUNK_ROWS):
            produced.append(start)
            yield CSV_ROW * CHUNK_ROWS

    @app.get("/detections.csv")
    def csv() -> StreamingResponse:
        return StreamingResponse(rows(), media_type="text/csv; charset=utf-8")

    @app.get("/tracks.vtt")
    def vtt() -> Response:
        cues = "".join(
            f"{i}\n00:00:0{i % 10}.000 --> 00:00:09.000\nperson #{i}\n\n" for i in range(90)
        )
        return Response("WEBVTT\n\n" + cues, media_type="text/vtt")

    @app.get("/frame.jpg")
    def jpeg() -> Response:
        return Response(bytes(50_000), media_type="image/jpeg")

    @app.get("/annotated.mp4")
    def mp4() -> StreamingResponse:
        return StreamingResponse(iter([bytes(64_000)] * 4), media_type="video/mp4")

    return app


def test_csv_and_vtt_are_gzipped_jpeg_and_mp4_are_not():
    with TestClient(toy_app()) as client:
        headers = {"Accept-Encoding": "gzip"}
        csv = client.get("/detections.csv", headers=headers)
        assert csv.headers["content-encoding"] == "gzip"
        assert csv.content == CSV_ROW * ROWS
        assert client.get("/tracks.vtt", headers=headers).headers["content-encoding"] == "gzip"
        for path in ("/frame.jpg", "/annotated.mp4"):
            response = client.get(path, headers=headers)
            assert "content-encoding" not in response.headers, path
            assert len(response.content) in (50_000, 256_000)


def test_a_streamed_answer_is_compressed_chunk_by_chunk():
    """The first compressed bytes leave before the body is all produced."""
    app = toy_app()
    sent: list[tuple[int, bytes]] = []  # (chunks produced so far, body bytes sent)

    async def call() -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/detections.csv",
            "raw_path": b"/detections.csv",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"test"), (b"accept-encoding", b"gzip")],
            "client": ("127.0.0.1", 1),
            "server": ("test", 80),
        }

        finished = asyncio.Event()
        requested = False

        async def receive() -> dict:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await finished.wait()  # the client stays connected until the end
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.body":
                sent.append((len(app.state.produced), message.get("body", b"")))
                if not message.get("more_body", False):
                    finished.set()

        await app(scope, receive, send)

    asyncio.run(call())
    chunks_at_first_send = sent[0][0]
    assert chunks_at_first_send < ROWS // CHUNK_ROWS  # not gathered whole first
    body = b"".join(data for _, data in sent)
    assert zlib.decompress(body, 16 + zlib.MAX_WBITS) == CSV_ROW * ROWS
    assert gzip.decompress(body) == CSV_ROW * ROWS
