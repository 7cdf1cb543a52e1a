"""Starting the independent Stripe API implementation (tests/edges/stripe_mock:
stripe-stateful-mock from the npm registry) on a free loopback port, and signing
events the way Stripe documents it (`Stripe-Signature: t=<unix>,v1=<HMAC-SHA256 of
"<t>.<body>">`, computed by the SDK's own stripe.WebhookSignature)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass

import stripe

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stripe_mock")
MOCK = os.path.join(HERE, "node_modules", "stripe-stateful-mock", "dist", "cli.js")
STARTUP_SECONDS = 30


def mock_available() -> bool:
    return shutil.which("node") is not None and os.path.isfile(MOCK)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class StripeMock:
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = self.port or free_port()
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PORT": str(self.port),
            "LOG_LEVEL": "warn",
        }
        self.process = subprocess.Popen(
            ["node", MOCK],
            cwd=HERE,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("stripe-stateful-mock did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


def signed_event(secret: str, event: dict, *, timestamp: int | None = None) -> tuple[bytes, str]:
    """The body and the Stripe-Signature header of one event, as Stripe sends them."""
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    moment = int(time.time()) if timestamp is None else timestamp
    signature = stripe.WebhookSignature._compute_signature(f"{moment}.{body}", secret)
    return body.encode("utf-8"), f"t={moment},v1={signature}"
