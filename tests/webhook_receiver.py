"""A webhook receiver for the tests: an HTTP server on 127.0.0.1 that records every request it gets and
answers each from a script (a status, or "hang" to hold the answer past the sender's read timeout)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int | None = None  # the status sent back (None: it hung)
    at: float = field(default_factory=time.monotonic)


class Receiver:
    def __init__(self, *answers, hang_seconds: float = 3.0, headers: dict | None = None):
        """`answers`: what the n-th request gets (an int status or "hang"); the last one repeats."""
        self.answers = list(answers) or [200]
        self.hang_seconds = hang_seconds
        self.extra_headers = headers or {}
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    record = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    receiver.requests.append(record)
                    answer = receiver.answers[min(len(receiver.requests), len(receiver.answers)) - 1]
                if answer == "hang":
                    time.sleep(receiver.hang_seconds)
                    return
                record.answered = answer
                self.send_response(answer)
                for name, value in receiver.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
