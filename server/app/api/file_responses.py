"""A response whose body is copied from a stored file in chunks, never held whole.

Kept out of the route modules (the Phase-16 vocabulary rule) and named for what it
does: a known length, a small head built in memory, then the file's bytes.
"""

from __future__ import annotations

from collections.abc import Iterator

from starlette.responses import StreamingResponse

from app.domain.results import StoredDocument


class StoredDocumentResponse(StreamingResponse):
    """Sends `document.head` then its chunks; Content-Length is set so clients can
    show progress and detect a cut transfer."""

    def __init__(self, document: StoredDocument, media_type: str = "application/json") -> None:
        super().__init__(
            self._body(document),
            media_type=media_type,
            headers={"Content-Length": str(document.length)},
        )

    @staticmethod
    def _body(document: StoredDocument) -> Iterator[bytes]:
        yield document.head
        yield from document.chunks
