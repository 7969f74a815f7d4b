"""The web console: static files served at /console/ on the API's own origin.

The console holds no session and no server-side state: it signs every request in the browser with the
credential the user typed (TC3-HMAC-SHA256 through Web Crypto) and calls the same API actions the SDKs
call, so policies, rate limits and the audit trail apply to it as to any client. The files ship inside
the package and are read once at start; a strict Content-Security-Policy allows only them to run.
"""

from importlib import resources

from openkms.api.asgi import Send

PREFIX = "/console/"
CONTENT_TYPES = {
    ".html": b"text/html; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".svg": b"image/svg+xml",
}
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        b"base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),
]


class Console:
    def __init__(self) -> None:
        folder = resources.files("openkms.server").joinpath("console_files")
        # Only the folder's own files, by exact name: no path from a request reaches the file system.
        self._files: dict[str, tuple[bytes, bytes]] = {}
        for item in folder.iterdir():
            content_type = CONTENT_TYPES.get("." + item.name.rpartition(".")[2])
            if content_type is not None and item.is_file():
                self._files[item.name] = (item.read_bytes(), content_type)

    async def serve(self, path: str, send: Send, head: bool = False) -> None:
        if path == PREFIX.rstrip("/"):
            await _send(send, 301, b"", [(b"location", PREFIX.encode())])
            return
        found = self._files.get(path[len(PREFIX) :] or "index.html")
        if found is None:
            await _send(send, 404, b"not found\n", [(b"content-type", b"text/plain")])
            return
        body, content_type = found
        await _send(send, 200, b"" if head else body, [(b"content-type", content_type)], len(body))


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]], length: int = -1) -> None:
    size = len(body) if length < 0 else length
    all_headers = [*headers, (b"content-length", str(size).encode()), *SECURITY_HEADERS]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})
