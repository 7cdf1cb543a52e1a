"""The platform as a city runs it, for tests/edges/test_cluster.py: `bin/cluster`
itself (two web processes, two Celery workers and beat, PostgreSQL, Redis and
moto's S3 server, each a process group of its own), started with ports, a database,
Redis databases and a folder of its own so that it collides neither with another
test run nor with a developer's cluster; stopped, and its database dropped, however
the test ends.

Besides the cluster: what watches it from outside, as an operator's tools would.
`TaskEvents` receives the task events the workers send (Celery's event protocol,
what Flower shows), so a test knows which worker received and finished which task;
`WebhookReceiver` is a city's back-office system, verifying each delivery with the
reference Standard Webhooks library."""

from __future__ import annotations

import ast
import copy
import fcntl
import hashlib
import html
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import boto3
import psycopg
import redis
import requests
from celery import Celery
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

ROOT = Path(__file__).resolve().parents[2]
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS_PORT = 6379
DATABASE = "cityproc_cluster_test"
# bin/test's suite uses Redis database 14, a developer's cluster 2 and 3, the
# benchmarks 7; this test takes 11 (broker) and 12 (cache, bin/cluster's "next").
BROKER_DB = 11
# Redis gives a dead worker's unacknowledged tasks to another worker after this
# many seconds (production: 600; bin/cluster's CLUSTER_VISIBILITY_TIMEOUT).
VISIBILITY_TIMEOUT = 15
# Only one cluster test at a time on a machine: the Redis databases are fixed.
LOCK_FILE = Path("/tmp/cityproc-cluster-test.lock")
# The bucket and keys bin/cluster gives moto's server.
S3_BUCKET, S3_REGION = "cityproc-cluster", "ap-northeast-1"
S3_KEYS = ("cityproc-cluster", "cityproc-cluster-secret")
# The platform's settings the test run may have in its environment: the cluster
# is configured by bin/cluster alone, as documented.
NOT_INHERITED = re.compile(
    r"^(DJANGO_SETTINGS_MODULE|DATABASE_URL|CACHE_URL|CELERY_.*|S3_.*|FILE_STORAGE|MEDIA_ROOT"
    r"|SITE_URL|SECRET_KEY|EMAIL_.*|OIDC_.*|DELIVERY_.*|PDF_.*|DEMO_.*|CLUSTER_.*|DEBUG"
    r"|ALLOWED_HOSTS|IDENTITY_.*|PAYMENTS_.*)$"
)

T = TypeVar("T")


def wait_until(condition: Callable[[], T], *, timeout: float, what: str, every=0.2) -> T:
    """Poll `condition` until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}.")
        time.sleep(every)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(pair: bool = False) -> int:
    """A free loopback port (and the next one free too, with `pair`), below the
    kernel's ephemeral range, so that no outgoing connection takes it meanwhile."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    while True:
        port = random.randrange(max(1024, low - 12000), low - 1)
        if _port_free(port) and (not pair or _port_free(port + 1)):
            return port


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- The cluster ----------------------------------------------------------------------------


@dataclass
class Cluster:
    directory: Path
    web_port: int = field(default_factory=lambda: free_port(pair=True))
    s3_port: int = field(default_factory=free_port)
    output: str = ""

    @property
    def env(self) -> dict[str, str]:
        inherited = {
            key: value for key, value in os.environ.items() if not NOT_INHERITED.match(key)
        }
        return {
            **inherited,
            "CLUSTER_PORT": str(self.web_port),
            "CLUSTER_S3_PORT": str(self.s3_port),
            "CLUSTER_DB": DATABASE,
            "CLUSTER_REDIS_DB": str(BROKER_DB),
            "CLUSTER_DIR": str(self.directory),
            "CLUSTER_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            # Its own secret key (so its own demo TOTP secrets) and signing key: nothing
            # of a developer's var/ is used or created.
            "SECRET_KEY_FILE": str(self.directory / "secret_key"),
            "SIGNING_KEY_PATH": str(self.directory / "signing-ed25519.pem"),
        }

    @property
    def broker_url(self) -> str:
        return f"redis://127.0.0.1:{REDIS_PORT}/{BROKER_DB}"

    def web(self, number: int) -> str:
        """The base URL of web process 1 or 2."""
        return f"http://127.0.0.1:{self.web_port + number - 1}"

    def _bin(self, *args: str, timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(ROOT / "bin" / "cluster"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        result = self._bin("start", timeout=300)
        self.output += result.stdout + result.stderr
        if result.returncode != 0:
            raise AssertionError(f"bin/cluster start failed:\n{self.output}\n{self.logs_tail()}")

    def stop(self) -> None:
        result = self._bin("stop", timeout=120)
        self.output += result.stdout + result.stderr

    def manage(self, *args: str) -> str:
        """A manage.py command against the cluster (`bin/cluster manage`)."""
        result = self._bin("manage", *args, timeout=60)
        if result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout.strip()

    def pid(self, name: str) -> int:
        return int((self.directory / f"{name}.pid").read_text())

    def signal(self, name: str, number: int) -> None:
        """Send a signal to the process's whole group (its pool, gunicorn's worker)."""
        os.killpg(self.pid(name), number)

    def kill(self, name: str) -> None:
        """SIGKILL the process group: no warm shutdown, nothing acknowledged or given back."""
        group = self.pid(name)
        os.killpg(group, signal.SIGKILL)

        def gone() -> bool:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return True
            return False

        wait_until(gone, timeout=10, what=f"{name}'s processes to die", every=0.05)

    def log(self, name: str) -> str:
        path = self.directory / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs_tail(self, lines: int = 40) -> str:
        parts = []
        for name in ("web1", "web2", "worker1", "worker2", "beat", "objectstore"):
            tail = "\n".join(self.log(name).splitlines()[-lines:])
            parts.append(f"--- {name}.log (last {lines} lines) ---\n{tail}")
        return "\n".join(parts)

    # The database and the object store, read directly, as their operator would.

    def query(self, sql: str) -> list[tuple]:
        with psycopg.connect(dbname=DATABASE, **PG) as connection:
            return connection.execute(sql).fetchall()

    def s3(self):
        return boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.s3_port}",
            region_name=S3_REGION,
            aws_access_key_id=S3_KEYS[0],
            aws_secret_access_key=S3_KEYS[1],
        )

    def stored_objects(self) -> dict[str, str]:
        """Every object in the bucket: its key -> the SHA-256 of its bytes."""
        client = self.s3()
        found = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=S3_BUCKET):
            for item in page.get("Contents", []):
                body = client.get_object(Bucket=S3_BUCKET, Key=item["Key"])["Body"].read()
                found[item["Key"]] = sha256(body)
        return found


def _drop_database() -> None:
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def _flush_redis() -> None:
    for db in (BROKER_DB, BROKER_DB + 1):
        redis.Redis(port=REDIS_PORT, db=db).flushdb()


@contextmanager
def exclusive(timeout: float = 600) -> Iterator[None]:
    """Wait for any other cluster test on this machine to finish (fixed Redis databases)."""
    with LOCK_FILE.open("a") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AssertionError("Another cluster test holds the lock.") from None
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def running_cluster(directory: Path) -> Iterator[tuple[Cluster, TaskEvents]]:
    """Start bin/cluster (with a task-event monitor already listening); stop it,
    drop its database and empty its Redis databases however the block ends."""
    with exclusive():
        cluster = Cluster(directory)
        _drop_database()  # what a killed earlier run may have left
        _flush_redis()
        events = TaskEvents(cluster.broker_url)
        events.start()
        try:
            cluster.start()
            for worker in ("worker1", "worker2"):
                events.wait_for_worker(worker)
            yield cluster, events
        finally:
            try:
                cluster.stop()
            finally:
                events.stop()
                _drop_database()
                _flush_redis()


# --- Task events ------------------------------------------------------------------------------


@dataclass
class TaskRecord:
    name: str = ""
    args: tuple = ()
    # The order in which tasks were first received, across the workers.
    first_received: int = 0
    received_by: list[str] = field(default_factory=list)
    succeeded_by: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)  # what each success returned (repr)
    # Failed, retried (a new message), rejected or revoked: done with, unsuccessfully.
    failed_by: list[str] = field(default_factory=list)


class TaskEvents:
    """The task events the workers send (bin/cluster starts them with -E), received
    over the broker as Flower or `celery events` would. Hostnames are shortened to the
    worker's name (worker1@host -> worker1)."""

    def __init__(self, broker_url: str) -> None:
        # The URL is given to the connection: Celery prefers CELERY_BROKER_URL from the
        # environment (the test run's own broker) to the app's.
        self.broker_url = broker_url
        self.app = Celery("cluster-watch", set_as_current=False)
        self.tasks: dict[str, TaskRecord] = {}
        self.workers_seen: set[str] = set()
        self._received = 0
        self._lock = threading.Lock()
        self._receiver = None
        self._thread: threading.Thread | None = None
        self._subscribed = threading.Event()
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="task-events", daemon=True)
        self._thread.start()
        if not self._subscribed.wait(timeout=15):
            raise AssertionError(f"The task-event receiver did not start: {self.error!r}")

    def _run(self) -> None:
        try:
            with self.app.connection_for_read(self.broker_url) as connection:
                receiver = self.app.events.Receiver(connection, handlers={"*": self._on})
                # Consuming from here on (the subscription is made on the first poll).
                receiver.on_consume_ready = lambda *args, **kwargs: self._subscribed.set()
                self._receiver = receiver
                receiver.capture(limit=None, timeout=None, wakeup=False)
        except BaseException as error:
            self.error = error
        finally:
            self._subscribed.set()

    def stop(self) -> None:
        if self._receiver is not None:
            self._receiver.should_stop = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _on(self, event: dict[str, Any]) -> None:
        worker = str(event.get("hostname", "")).split("@")[0]
        kind = event.get("type", "")
        with self._lock:
            if kind.startswith("worker-"):
                self.workers_seen.add(worker)
                return
            if not kind.startswith("task-") or "uuid" not in event:
                return
            record = self.tasks.setdefault(event["uuid"], TaskRecord())
            if kind == "task-received":
                if not record.received_by:
                    self._received += 1
                    record.first_received = self._received
                record.name = event.get("name", "")
                try:
                    record.args = tuple(ast.literal_eval(event.get("args") or "()"))
                except (ValueError, SyntaxError):
                    record.args = ()
                record.received_by.append(worker)
            elif kind == "task-succeeded":
                record.succeeded_by.append(worker)
                record.results.append(str(event.get("result", "")))
            elif kind in ("task-failed", "task-retried", "task-rejected", "task-revoked"):
                record.failed_by.append(worker)

    def wait_for_worker(self, worker: str, timeout: float = 30) -> None:
        wait_until(
            lambda: worker in self.workers_seen or self.error,
            timeout=timeout,
            what=f"{worker}'s heartbeat",
        )
        if self.error:
            raise AssertionError(f"The task-event receiver failed: {self.error!r}")

    def snapshot(self) -> dict[str, TaskRecord]:
        with self._lock:
            return copy.deepcopy(self.tasks)

    def of(self, name: str, *args: Any) -> dict[str, TaskRecord]:
        """The tasks of that name and arguments (the same task delivered again
        keeps its id)."""
        short = f"tasks.{name}"
        return {
            uuid: record
            for uuid, record in self.snapshot().items()
            if record.name.endswith(short) and record.args == args
        }

    def in_hand(self, worker: str, name: str = "") -> dict[str, TaskRecord]:
        """The tasks (of that name) the worker received and nobody has finished."""
        return {
            uuid: record
            for uuid, record in self.snapshot().items()
            if record.name.endswith(f"tasks.{name}" if name else "")
            and worker in record.received_by
            and not record.succeeded_by
            and not record.failed_by
        }


# --- A back-office system receiving webhooks -----------------------------------------------


@dataclass
class Received:
    message_id: str
    type: str
    reference: str
    body: dict


class WebhookReceiver:
    """A city's system: verifies every request with the reference Standard Webhooks
    library (refusing what does not verify) and keeps what arrived, repeats included."""

    def __init__(self) -> None:
        self.secret = ""
        self.received: list[Received] = []
        self.refused = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                try:
                    payload = Webhook(receiver.secret).verify(body, headers)
                except WebhookVerificationError:
                    with receiver._lock:
                        receiver.refused += 1
                    self.send_response(400)
                    self.end_headers()
                    return
                with receiver._lock:
                    receiver.received.append(
                        Received(
                            message_id=headers["webhook-id"],
                            type=payload["type"],
                            reference=payload["data"]["application"]["reference"],
                            body=payload,
                        )
                    )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/cityproc-events"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def messages(self) -> list[Received]:
        with self._lock:
            return list(self.received)


# --- A resident's browser, for what only a browser does ---------------------------------------


_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


def _hidden_inputs(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}


def _csrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=30)
    assert page.status_code == 200, (url, page.status_code)
    token = _hidden_inputs(page.text).get("csrfmiddlewaretoken")
    assert token, f"no CSRF token on {url}"
    return token


def verify_identity_in_browser(base: str, email: str, password: str, persona: dict) -> None:
    """Log in at `base` and verify the identity with the sandbox identity provider,
    as a resident's browser does: the login form, "Verify with digital ID", the
    provider's page, and back to the callback (whose back-channel calls go from the
    web process to the provider over HTTP)."""
    browser = requests.Session()
    login = f"{base}/accounts/login/"
    answer = browser.post(
        login,
        data={"csrfmiddlewaretoken": _csrf(browser, login), "email": email, "password": password},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, answer.text[:2000]
    identity = f"{base}/accounts/identity/"
    start = browser.post(
        f"{identity}start/",
        data={"csrfmiddlewaretoken": _csrf(browser, identity), "next": "/applications/"},
        allow_redirects=False,
        timeout=30,
    )
    assert start.status_code == 302, start.text[:2000]
    provider_page = browser.get(start.headers["Location"], timeout=30)
    assert provider_page.status_code == 200
    parts = urlsplit(start.headers["Location"])
    approved = browser.post(
        f"{parts.scheme}://{parts.netloc}{parts.path}",
        data={**_hidden_inputs(provider_page.text), **persona, "decision": "approve"},
        allow_redirects=False,
        timeout=30,
    )
    assert approved.status_code == 302, approved.text[:2000]
    back = browser.get(approved.headers["Location"], allow_redirects=False, timeout=60)
    assert back.status_code == 302 and back.headers["Location"] == "/applications/", (
        back.status_code,
        back.headers.get("Location"),
    )


# --- The API, over HTTP ---------------------------------------------------------------------


class Api:
    """Bearer-token calls to one web process's /api/v1/."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept-Language": "en",
                # A connection per request: gunicorn closes a kept-alive connection after
                # 2 s idle, and a pooled one reused at that instant is reset.
                "Connection": "close",
            }
        )

    def on(self, base: str) -> Api:
        """The same token against another web process."""
        other = Api(base, "")
        other.session.headers.update(self.session.headers)
        return other

    def call(self, method: str, path: str, *, expect: int = 200, **kwargs) -> Any:
        response = self.session.request(method, f"{self.base}/api/v1/{path}", timeout=60, **kwargs)
        assert response.status_code == expect, (
            f"{method} {self.base}/api/v1/{path}: {response.status_code} {response.text[:2000]}"
        )
        if response.headers.get("Content-Type", "").startswith("application/json"):
            return response.json()
        return response

    def get(self, path: str, **kwargs) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: dict | None = None, **kwargs) -> Any:
        return self.call("POST", path, json=body, **kwargs)

    def put(self, path: str, body: dict, **kwargs) -> Any:
        return self.call("PUT", path, json=body, **kwargs)


def obtain_token(base: str, email: str, password: str, otp: str = "") -> str:
    body = {"email": email, "password": password, "name": "cluster test"}
    if otp:
        body["otp"] = otp
    response = requests.post(f"{base}/api/v1/auth/token/", json=body, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["token"]
