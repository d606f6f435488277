"""The buffering front `manage.py serve` puts before gunicorn: slow clients cost a coroutine, not a worker.

gunicorn's workers read a request with blocking socket calls and no deadline, so a client
that trickles its header holds a worker (or a thread) for as long as it likes. The front
reads every request whole first (its head within `header_timeout`, its body within
`body_timeout`, both bounded in size), hands the complete request to gunicorn over a
private unix socket, reads the whole answer back and only then writes it to the client.
A worker is therefore busy only while the application runs. The front appends the
client's address to X-Forwarded-For, which the application trusts as one proxy hop.
"""
from __future__ import annotations

import asyncio
import json
import logging
import signal
from dataclasses import dataclass

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 32 * 1024
MAX_ANSWER_BYTES = 64 * 1024 * 1024
HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-connection", b"te", b"upgrade", b"transfer-encoding",
              b"trailer"}


@dataclass(frozen=True)
class FrontConfig:
    """Where to listen, where gunicorn is, and the limits every request must meet."""

    host: str
    port: int
    upstream_socket: str
    header_timeout: float
    body_timeout: float
    upstream_timeout: float
    max_body_bytes: int


class Refused(Exception):
    """A request the front answers itself (and then closes the connection)."""

    def __init__(self, status: int, reason: str, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.reason, self.code, self.message = status, reason, code, message
        self.headers = headers or {}

    def response(self) -> bytes:
        """The JSON error in the API's one shape, as a complete HTTP/1.1 response."""
        body = json.dumps({"error": {"code": self.code, "message": self.message}}).encode()
        lines = [f"HTTP/1.1 {self.status} {self.reason}", "Content-Type: application/json",
                 f"Content-Length: {len(body)}", "Connection: close",
                 *(f"{name}: {value}" for name, value in self.headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Request:
    """One complete request as read from the client."""

    request_line: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    keep_alive: bool

    def header(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.headers if key.lower() == name]


def parse_head(head: bytes) -> tuple[bytes, list[tuple[bytes, bytes]], bool]:
    """Request line, headers and whether HTTP/1.1 keep-alive applies; Refused when malformed."""
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1.") or not parts[0].isalpha():
        raise Refused(400, "Bad Request", "bad_request", "malformed request line")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise Refused(400, "Bad Request", "bad_request", "malformed header line")
        headers.append((name, value.strip()))
    connection = b",".join(v for k, v in headers if k.lower() == b"connection").lower()
    keep_alive = b"close" not in connection if parts[2] == b"HTTP/1.1" else b"keep-alive" in connection
    return lines[0], headers, keep_alive


class Front:
    """Accepts clients, reads requests whole, relays them to gunicorn, buffers answers."""

    def __init__(self, config: FrontConfig):
        self.config = config

    async def serve(self) -> None:
        """Listen until SIGTERM or SIGINT."""
        server = await asyncio.start_server(self._client, self.config.host, self.config.port,
                                            limit=MAX_HEAD_BYTES, backlog=1024)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with server:
            await stop.wait()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) else "unix"
        try:
            while True:
                try:
                    request = await self._read(reader, writer)
                except Refused as refused:
                    writer.write(refused.response())
                    await asyncio.wait_for(writer.drain(), self.config.header_timeout)
                    return
                if request is None:
                    return
                answer, reusable = await self._relay(request, address)
                writer.write(answer)
                await asyncio.wait_for(writer.drain(), self.config.body_timeout)
                if not (request.keep_alive and reusable):
                    return
        except (ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return  # the client went away, stalled, or the front is stopping
        finally:
            writer.close()

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Request | None:
        """The next whole request, None when the client closed between requests, else Refused."""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.config.header_timeout)
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                raise Refused(400, "Bad Request", "bad_request", "incomplete request head") from None
            return None
        except asyncio.LimitOverrunError:
            raise Refused(431, "Request Header Fields Too Large", "headers_too_large",
                          f"request head larger than {MAX_HEAD_BYTES} bytes") from None
        except asyncio.TimeoutError:
            raise Refused(408, "Request Timeout", "request_timeout",
                          f"request head not received within {self.config.header_timeout:g} s") from None
        request_line, headers, keep_alive = parse_head(head)
        request = Request(request_line, headers, b"", keep_alive)
        if request.header(b"transfer-encoding"):
            raise Refused(411, "Length Required", "length_required", "send the body with a Content-Length")
        lengths = set(request.header(b"content-length"))
        if len(lengths) > 1 or lengths and not next(iter(lengths)).isdigit():
            raise Refused(400, "Bad Request", "bad_request", "invalid Content-Length")
        length = int(next(iter(lengths))) if lengths else 0
        if length > self.config.max_body_bytes:
            raise Refused(413, "Payload Too Large", "payload_too_large",
                          f"request body larger than {self.config.max_body_bytes} bytes")
        if length and b"100-continue" in b",".join(request.header(b"expect")).lower():
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            request.body = await asyncio.wait_for(reader.readexactly(length), self.config.body_timeout)
        except asyncio.TimeoutError:
            raise Refused(408, "Request Timeout", "request_timeout",
                          f"request body not received within {self.config.body_timeout:g} s") from None
        return request

    async def _relay(self, request: Request, address: str) -> tuple[bytes, bool]:
        """gunicorn's whole answer to `request` (rewritten for keep-alive when it can be) and
        whether the client connection may carry another request."""
        forwarded = b", ".join([*request.header(b"x-forwarded-for"), address.encode()])
        lines = [request.request_line,
                 *(k + b": " + v for k, v in request.headers
                   if k.lower() not in HOP_BY_HOP and k.lower() not in (b"x-forwarded-for", b"expect")),
                 b"X-Forwarded-For: " + forwarded, b"Connection: close"]
        try:
            reader, writer = await asyncio.open_unix_connection(self.config.upstream_socket)
        except OSError:
            return _unavailable("the API workers are not accepting requests; try again shortly"), False
        try:
            writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + request.body)
            answer = await asyncio.wait_for(_read_to_end(reader), self.config.upstream_timeout)
        except (OSError, ValueError, asyncio.TimeoutError):
            return _unavailable("the API did not answer in time; try again shortly"), False
        finally:
            writer.close()
        return _keep_alive(answer)


async def _read_to_end(reader: asyncio.StreamReader) -> bytes:
    """Everything until EOF; ValueError past MAX_ANSWER_BYTES."""
    chunks, size = [], 0
    while chunk := await reader.read(65_536):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise ValueError("answer too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _keep_alive(answer: bytes) -> tuple[bytes, bool]:
    """The answer with `Connection: keep-alive` when its length is declared (else left to close)."""
    head, separator, body = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    lengths = [line for line in lines[1:] if line.lower().startswith(b"content-length:")]
    if not separator or len(lengths) != 1 or int(lengths[0].split(b":")[1]) != len(body):
        return answer, False
    kept = [line for line in lines[1:] if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([lines[0], *kept, b"Connection: keep-alive"]) + separator + body, True


def _unavailable(message: str) -> bytes:
    return Refused(503, "Service Unavailable", "unavailable", message, {"Retry-After": "5"}).response()


def run_front(config: FrontConfig) -> None:
    """Serve until SIGTERM/SIGINT."""
    asyncio.run(Front(config).serve())
