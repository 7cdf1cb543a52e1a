"""Processes a benchmark starts: gunicorn serving the platform (and the baseline
views, bench/urls.py) on a port of 8061-8069, and Celery workers on the Redis
broker. Both run the benchmark settings against the database of the run."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.core import PORTS, ROOT, Context


def free_port() -> int:
    for port in PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@dataclass
class Server:
    host: str
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def worker_pids(self) -> list[int]:
        """The gunicorn workers (children of the arbiter)."""
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []


def _wait_until_ready(host: str, port: int, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited early:\n{log_path.read_text()[-3000:]}")
        try:
            connection = http.client.HTTPConnection(host, port, timeout=2)
            connection.request("GET", "/bench/baseline/ping/")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within 60 s:\n{log_path.read_text()[-3000:]}")


@contextlib.contextmanager
def gunicorn(
    context: Context, *, workers: int = 2, name: str = "gunicorn", preload: bool = False
) -> Iterator[Server]:
    """Serve the platform with `workers` sync workers (gunicorn's default worker
    class, as in docs/operations.md) until the block ends."""
    port = free_port()
    log_path = context.workdir / f"{name}-{port}.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--backlog",
        "2048",
        "--timeout",
        "120",
        "--log-level",
        "warning",
    ]
    if preload:
        command.append("--preload")
    with open(log_path, "w") as log:
        process = subprocess.Popen(  # noqa: S603 - a fixed command line
            command,
            cwd=ROOT,
            env=context.subprocess_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_ready("127.0.0.1", port, process, log_path)
        yield Server(host="127.0.0.1", port=port, process=process, log_path=log_path)
    finally:
        stop(process)


@contextlib.contextmanager
def celery_workers(
    context: Context, *, processes: int, queue: str = "celery", name: str = "celery"
) -> Iterator[subprocess.Popen]:
    """A Celery worker with `processes` prefork child processes on the Redis broker."""
    log_path = context.workdir / f"{name}.log"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool=prefork",
        f"--concurrency={processes}",
        "--loglevel=WARNING",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-Q",
        queue,
        "-n",
        f"bench-{os.getpid()}@%h",
    ]
    with open(log_path, "w") as log:
        process = subprocess.Popen(  # noqa: S603 - a fixed command line
            command,
            cwd=ROOT,
            env=context.subprocess_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM (a warm shutdown for both gunicorn and Celery), then SIGKILL."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (from /proc/<pid>/statm)."""
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes(pid: int) -> int:
    """Peak resident set size (VmHWM) of a process."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0
