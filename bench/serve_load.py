"""Load on a running bin/serve: N concurrent clients over a mix of pages and writes,
counting connection resets, 5xx answers and "database is locked" in the server log.

    PORT=8091 bin/serve > /tmp/serve.log 2>&1 &
    .venv/bin/python bench/serve_load.py --base http://127.0.0.1:8091 --log /tmp/serve.log

First, one by one: the demo resident logs in (a session), verifies their identity
through the sandbox identity provider (its callback calls back into the same server),
takes an API token and starts one draft per client. Then every client, in its own
thread, sends requests as fast as the server answers, each on a new connection
(as a browser opening many would, which is what fills the listen queue): the home
page, the catalogue, a procedure's page, the catalogue API, the resident's own
applications page (with the session), and draft saves through the API (with the
token). At the end the drafts are deleted again.

Bounded: at most --requests requests and --seconds seconds; loopback only.
Standard library only. Exit status 1 when there was a reset, a 5xx or a lock."""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import random
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

PROCEDURE = "nursery-school-admission"
STEP = "guardian"
# Connection failures that mean the server dropped us (the listen queue overflowed,
# or a worker went away) rather than answered.
RESETS = (
    ConnectionResetError,
    ConnectionAbortedError,
    ConnectionRefusedError,
    BrokenPipeError,
    http.client.RemoteDisconnected,
)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class Browser:
    """Cookies and CSRF for one user; a new connection per request."""

    def __init__(self, base: str, timeout: float):
        parts = urlsplit(base)
        self.base, self.host, self.port = base.rstrip("/"), parts.hostname, parts.port or 80
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, *, body: bytes | None = None, headers=None, cookies=True
    ) -> Response:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        sent = {"Connection": "close", "Accept-Language": "ja", **(headers or {})}
        if cookies and self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            content = answer.read()
            for name, value in answer.getheaders():
                if name.lower() == "set-cookie":
                    pair = value.split(";", 1)[0]
                    key, _eq, cookie = pair.partition("=")
                    self.cookies[key.strip()] = cookie.strip()
            return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, content)
        finally:
            connection.close()

    def local(self, url: str) -> str:
        """The path of a URL of this server (redirects carry absolute ones)."""
        parts = urlsplit(urljoin(self.base + "/", url))
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def form_post(self, path: str, fields: dict[str, str]) -> Response:
        fields = {"csrfmiddlewaretoken": self.cookies.get("csrftoken", ""), **fields}
        return self.request(
            "POST",
            path,
            body=urlencode(fields).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"{self.base}{path}",
            },
        )


class _Inputs(HTMLParser):
    """The named <input>s of a page (the first form's, which is all we need)."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and attributes.get("name") and attributes.get("type") != "submit":
            self.values.setdefault(attributes["name"], attributes.get("value") or "")


def inputs(page: Response) -> dict[str, str]:
    parser = _Inputs()
    parser.feed(page.body.decode("utf-8", "replace"))
    return parser.values


def expect(response: Response, *statuses: int, what: str) -> Response:
    if response.status not in statuses:
        raise SystemExit(f"{what}: HTTP {response.status}: {response.body[:300]!r}")
    return response


def sign_in_and_verify(browser: Browser, email: str, password: str) -> None:
    """A session for the resident, with a verified identity from the sandbox."""
    browser.request("GET", "/accounts/login/")
    expect(
        browser.form_post("/accounts/login/", {"email": email, "password": password}),
        302,
        what="log in",
    )
    started = expect(
        browser.form_post("/accounts/identity/start/", {"next": "/applications/"}),
        302,
        what="start identity verification",
    )
    authorize = browser.local(started.headers["location"])
    page = expect(browser.request("GET", authorize), 200, what="sandbox identity provider")
    approved = expect(
        browser.form_post(authorize.split("?")[0], {**inputs(page), "decision": "approve"}),
        302,
        what="approve the test identity",
    )
    # The callback: our client calls the sandbox's token endpoint on this same server.
    back = expect(
        browser.request("GET", browser.local(approved.headers["location"])),
        302,
        what="identity callback",
    )
    if "/identity/" in back.headers.get("location", "") and "error" in back.headers["location"]:
        raise SystemExit(f"identity verification failed: {back.headers['location']}")


def api_token(browser: Browser, email: str, password: str) -> str:
    response = browser.request(
        "POST",
        "/api/v1/auth/token/",
        body=json.dumps({"email": email, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        cookies=False,
    )
    return expect(response, 201, what="API token").json()["token"]


def api(browser: Browser, token: str, method: str, path: str, document=None) -> Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if method == "POST":
        headers["Idempotency-Key"] = str(uuid.uuid4())
    body = None if document is None else json.dumps(document).encode()
    return browser.request(method, path, body=body, headers=headers, cookies=False)


@dataclass
class Figures:
    statuses: Counter = field(default_factory=Counter)
    by_kind: Counter = field(default_factory=Counter)
    resets: int = 0
    timeouts: int = 0
    other_errors: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def load(args, browser: Browser, token: str, drafts: list[int], codes: list[str]) -> Figures:
    figures = Figures()
    budget = threading.Semaphore(args.requests)
    deadline = time.monotonic() + args.seconds
    session = dict(browser.cookies)

    def one(client: int, rng: random.Random) -> None:
        own = Browser(args.base, args.timeout)
        kind = rng.choices(
            ["home", "catalogue", "procedure", "api-catalogue", "my-applications", "save-draft"],
            weights=[1, 1, 1, 1, 1, 2],
        )[0]
        started = time.perf_counter()
        try:
            if kind == "home":
                answer = own.request("GET", "/")
            elif kind == "catalogue":
                answer = own.request("GET", "/procedures/")
            elif kind == "procedure":
                answer = own.request("GET", f"/procedures/{rng.choice(codes)}/")
            elif kind == "api-catalogue":
                answer = own.request("GET", "/api/v1/procedures/")
            elif kind == "my-applications":
                own.cookies = dict(session)
                answer = own.request("GET", "/applications/")
            else:
                answer = api(
                    own,
                    token,
                    "PUT",
                    f"/api/v1/applications/{drafts[client % len(drafts)]}/steps/{STEP}/",
                    {"answers": {"phone": f"03-{rng.randint(1000, 9999)}-{client % 10000:04d}"}},
                )
        except RESETS as failure:
            with figures.lock:
                figures.resets += 1
                figures.other_errors.append(f"{kind}: {type(failure).__name__}")
            return
        except TimeoutError:
            with figures.lock:
                figures.timeouts += 1
            return
        except OSError as failure:
            with figures.lock:
                figures.other_errors.append(f"{kind}: {failure!r}")
            return
        elapsed = time.perf_counter() - started
        with figures.lock:
            figures.statuses[answer.status] += 1
            figures.by_kind[(kind, answer.status)] += 1
            figures.seconds.append(elapsed)
            if answer.status >= 500 and len(figures.server_errors) < 5:
                figures.server_errors.append(f"{kind} {answer.status}: {answer.body[:200]!r}")

    def client_loop(client: int) -> None:
        rng = random.Random(client)  # noqa: S311 - a reproducible mix, not a secret
        while time.monotonic() < deadline and budget.acquire(blocking=False):
            one(client, rng)

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(args.clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    figures.wall = time.perf_counter() - began
    return figures


def count_locked(log: Path | None, offset: int) -> int | None:
    if log is None:
        return None
    with log.open("rb") as file:
        file.seek(offset)
        return file.read().count(b"database is locked")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=3000, help="at most this many")
    parser.add_argument("--seconds", type=float, default=120, help="at most this long")
    parser.add_argument("--timeout", type=float, default=60, help="per request")
    parser.add_argument("--log", type=Path, help="the server's log, searched for locks")
    parser.add_argument("--email", default="resident@example.jp")
    parser.add_argument("--password", default="Tokyo-demo-2026")
    args = parser.parse_args(argv)
    host = urlsplit(args.base).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit("Loopback only: this script loads a local bin/serve.")
    if not 1 <= args.clients <= 200 or not 1 <= args.requests <= 100_000:
        raise SystemExit("--clients must be 1-200 and --requests 1-100000.")
    offset = args.log.stat().st_size if args.log else 0

    browser = Browser(args.base, args.timeout)
    sign_in_and_verify(browser, args.email, args.password)
    token = api_token(browser, args.email, args.password)
    codes = [
        row["code"] for row in api(browser, token, "GET", "/api/v1/procedures/").json()["results"]
    ]
    drafts = []
    for _ in range(args.clients):
        created = expect(
            api(browser, token, "POST", "/api/v1/applications/", {"procedure": PROCEDURE}),
            201,
            what="start a draft",
        )
        drafts.append(created.json()["id"])
    print(f"Resident signed in and verified; {len(drafts)} drafts; {args.clients} clients ...")

    figures = load(args, browser, token, drafts, codes)

    for draft in drafts:
        api(browser, token, "DELETE", f"/api/v1/applications/{draft}/")
    locked = count_locked(args.log, offset)
    total = sum(figures.statuses.values()) + figures.resets + figures.timeouts
    server_errors = sum(n for status, n in figures.statuses.items() if status >= 500)
    seconds = figures.seconds
    print(
        f"clients {args.clients}, requests {total} in {figures.wall:.1f} s "
        f"({total / figures.wall:.0f}/s)\n"
        f"resets {figures.resets}, timeouts {figures.timeouts}, 5xx {server_errors}, "
        f"database is locked {'(no --log)' if locked is None else locked}\n"
        f"latency p50 {percentile(seconds, 0.50) * 1000:.0f} ms, "
        f"p95 {percentile(seconds, 0.95) * 1000:.0f} ms, "
        f"max {max(seconds, default=0) * 1000:.0f} ms, "
        f"mean {statistics.fmean(seconds) * 1000 if seconds else 0:.0f} ms\n"
        f"statuses {dict(sorted(figures.statuses.items()))}"
    )
    for (kind, status), count in sorted(figures.by_kind.items()):
        print(f"  {kind:<16} {status} x {count}")
    for line in figures.server_errors + figures.other_errors[:5]:
        print(f"  ! {line}")
    failed = figures.resets or figures.timeouts or server_errors or locked or figures.other_errors
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
