"""A small HTTP load generator: a fixed list of requests sent by `concurrency`
client threads as fast as the server answers. gunicorn's sync workers close the
connection after each response, so each request opens its own (as a browser
behind a proxy would look to gunicorn)."""

from __future__ import annotations

import http.client
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LoadResult:
    seconds: float
    statuses: Counter
    failures: list[str]

    @property
    def count(self) -> int:
        return sum(self.statuses.values())

    @property
    def throughput(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def all_status(self, expected: int) -> bool:
        return set(self.statuses) == {expected} and not self.failures


def send(host: str, port: int, request: Request, timeout: float = 120) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request(
            request.method,
            request.path,
            body=request.body,
            headers={"Connection": "close", **request.headers},
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def run(host: str, port: int, requests: list[Request], *, concurrency: int) -> LoadResult:
    """Send every request once; the time is from the first send to the last answer."""
    pending: queue.SimpleQueue[Request] = queue.SimpleQueue()
    for request in requests:
        pending.put(request)
    statuses: Counter = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)

    def client() -> None:
        start.wait()
        while True:
            try:
                request = pending.get_nowait()
            except queue.Empty:
                return
            try:
                status, body = send(host, port, request)
            except OSError as error:
                with lock:
                    failures.append(f"{request.path}: {error!r}")
                continue
            with lock:
                statuses[status] += 1
                if status >= 400 and len(failures) < 5:
                    failures.append(f"{request.method} {request.path}: {status} {body[:300]!r}")

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return LoadResult(seconds=time.perf_counter() - began, statuses=statuses, failures=failures)
