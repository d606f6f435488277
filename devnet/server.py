"""HTTP for the devnet: JSON-RPC at POST /rpc, friendbot at GET or POST /friendbot?addr=G..., and the close loop."""
from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from stellar_sdk import StrKey

from devnet.ledger import Chain
from devnet.rpc import Rpc

log = logging.getLogger(__name__)
MAX_BODY = 10 * 1024 * 1024


class DevnetServer(ThreadingHTTPServer):
    """A threading HTTP server holding the chain and its RPC dispatcher."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, address: tuple[str, int], chain: Chain, rpc: Rpc):
        self.chain = chain
        self.rpc = rpc
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # a client that stops sending mid-request frees its thread
    server: DevnetServer

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle + delayed ACK add 40 ms a reply
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _send(self, status: int, payload) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes | None:
        """The request body, or None (answered 413) when missing or too large."""
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._send(413, {"jsonrpc": "2.0", "id": None,
                             "error": {"code": -32600, "message": "request body missing or too large"}})
            self.close_connection = True
            return None
        return self.rfile.read(length)

    def do_POST(self) -> None:
        path = urlparse(self.path).path.rstrip("/")
        if path not in ("", "/rpc", "/friendbot"):
            self._send(404, {"error": {"code": "not_found", "message": "JSON-RPC is served at /rpc"}})
            return
        body = self._body()
        if body is None:
            return
        if path == "/friendbot":  # the JS SDK's fundAddress/requestAirdrop POST, as the real friendbot allows
            form = parse_qs(body.decode("utf-8", "replace")) if body else {}
            self._friendbot((parse_qs(urlparse(self.path).query).get("addr") or form.get("addr") or [""])[0])
            return
        self._send(200, self.server.rpc.handle(body))

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path.rstrip("/") != "/friendbot":
            self._send(404, {"error": {"code": "not_found",
                                       "message": "GET or POST /friendbot?addr=G..., or POST /rpc"}})
            return
        self._friendbot((parse_qs(url.query).get("addr") or [""])[0])

    def _friendbot(self, address: str) -> None:
        """Create and fund `address`; 400 when it is not a G... account or already exists."""
        if not StrKey.is_valid_ed25519_public_key(address):
            self._send(400, {"status": 400, "title": "Bad Request", "detail": "addr must be a G... account"})
            return
        if self.server.chain.account_exists(address):
            self._send(400, {"status": 400, "title": "Bad Request",
                             "detail": "createAccountAlreadyExist: account already funded to starting balance"})
            return
        result = self.server.chain.friendbot(address)
        if result["status"] != "SUCCESS":
            self._send(400, {"status": 400, "title": "Transaction Failed", "detail": result["status"], **result})
            return
        self._send(200, {"successful": True, **result})


class CloseLoop(threading.Thread):
    """Closes a ledger every `interval` wall seconds until stopped."""

    def __init__(self, chain: Chain, interval: float):
        super().__init__(name="devnet-close", daemon=True)
        self.chain = chain
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.chain.close_ledger()
            except Exception:
                log.exception("ledger close failed")

    def stop(self) -> None:
        self.stopped.set()
        self.join()
