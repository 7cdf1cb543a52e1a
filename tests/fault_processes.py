"""Real processes for the fault tests (tests/core/test_faults.py): a Redis server
of their own on a free port, Celery workers against the test database, and polling
with a deadline instead of fixed sleeps. Every process started here is stopped by
the fixture or context that started it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import redis
from django.db import connection

from config.celery import app

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def wait_until(condition: Callable[[], T], *, timeout: float, what: str) -> T:
    """Poll `condition` until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}.")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """`redis-server` on a port of its own, without persistence: stopping it loses
    whatever it held, as a crashed broker without AOF does."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        executable = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [
                executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, timeout=10, what=f"redis-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_timeout=0.5).ping()
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def worker_environment(broker_url: str, media_root: Path, **extra: str) -> dict[str, str]:
    """A worker's environment: the test settings, the test database (the one this
    test process uses), the given broker and media folder."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "CELERY_BROKER_URL": broker_url,
        "MEDIA_ROOT": str(media_root),
        **extra,
    }


class Worker:
    """`celery worker` in a process of its own; its output is collected as it runs."""

    def __init__(self, env: dict[str, str], *, pool: str = "solo") -> None:
        self.env = env
        self.pool = pool
        self.lines: list[str] = []
        self.process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> Worker:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                f"--pool={self.pool}",
                "--concurrency=1",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, *, timeout: float, count: int = 1) -> None:
        wait_until(
            lambda: self.output.count(text) >= count,
            timeout=timeout,
            what=f"{text!r} in the worker's output:\n{self.output[-3000:]}",
        )

    def pool_children(self) -> list[int]:
        assert self.process is not None
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(child) for child in children]

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, nothing acknowledged or given back."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)


class Publishing:
    """This test process publishes its tasks to `broker_url`, not eagerly; the
    previous configuration comes back on exit."""

    KEYS = ("broker_url", "broker_write_url", "task_always_eager")

    def __init__(self, broker_url: str) -> None:
        self.broker_url = broker_url
        self.previous: dict = {}

    def __enter__(self) -> Publishing:
        self.previous = {key: app.conf[key] for key in self.KEYS}
        # broker_write_url: publishing uses it before broker_url.
        app.conf.update(
            broker_url=self.broker_url, broker_write_url=self.broker_url, task_always_eager=False
        )
        forget_broker_connections()
        return self

    def __exit__(self, *exc_info: object) -> None:
        app.conf.update(self.previous)
        forget_broker_connections()


def forget_broker_connections() -> None:
    """Celery's connection and producer pools are made when first used; dropping
    them makes the next publish connect afresh (to the current broker URL)."""
    app._pool = None
    app.amqp._producer_pool = None
