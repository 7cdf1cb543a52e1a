"""Starting the independent OpenID Provider (tests/edges/oidc_provider: panva's
oidc-provider, OpenID Certified) on the loopback, and signing in at it the way a
browser would.

The provider's keys and the people it knows are files this harness writes, so a
test can restart it with other keys (rotation) or stop it (an outage)."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = Path(__file__).resolve().parent / "oidc_provider"
CLIENT_ID = "cityproc-city"
STARTUP_SECONDS = 30


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rsa_signing_key(kid: str) -> dict:
    """A private RSA JWK for RS256 signatures."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = key.private_numbers(), key.public_key().public_numbers()
    return {
        "kty": "RSA",
        "kid": kid,
        "use": "sig",
        "alg": "RS256",
        "n": _b64(public.n),
        "e": _b64(public.e),
        "d": _b64(private.d),
        "p": _b64(private.p),
        "q": _b64(private.q),
        "dp": _b64(private.dmp1),
        "dq": _b64(private.dmq1),
        "qi": _b64(private.iqmp),
    }


def node_available() -> bool:
    return shutil.which("node") is not None and (HERE / "node_modules" / "oidc-provider").is_dir()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class OpenIDProvider:
    """One running provider process, for one relying party (our client)."""

    directory: Path
    redirect_uri: str
    people: dict[str, dict]
    keys: list[dict] = field(default_factory=lambda: [rsa_signing_key("key-1")])
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    port: int = field(default_factory=_free_port)
    # Claims of the provider's own, beyond the standard ones, under the profile scope.
    extra_profile_claims: list[str] = field(default_factory=list)
    process: subprocess.Popen | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self) -> dict[str, str]:
        """What our relying party's settings must say to use this provider (the
        endpoints from its own discovery document, as an operator would copy them)."""
        discovery = requests.get(
            f"{self.issuer}/.well-known/openid-configuration", timeout=10
        ).json()
        return {
            "OIDC_OP_ISSUER": discovery["issuer"],
            "OIDC_OP_AUTHORIZATION_ENDPOINT": discovery["authorization_endpoint"],
            "OIDC_OP_TOKEN_ENDPOINT": discovery["token_endpoint"],
            "OIDC_OP_USER_ENDPOINT": discovery["userinfo_endpoint"],
            "OIDC_OP_JWKS_ENDPOINT": discovery["jwks_uri"],
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": self.client_secret,
        }

    def start(self) -> None:
        keys_file = self.directory / "keys.json"
        people_file = self.directory / "people.json"
        keys_file.write_text(json.dumps({"keys": self.keys}), encoding="utf-8")
        people_file.write_text(json.dumps(self.people, ensure_ascii=False), encoding="utf-8")
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "OP_PORT": str(self.port),
            "OP_ISSUER": self.issuer,
            "OP_CLIENT_ID": CLIENT_ID,
            "OP_CLIENT_SECRET": self.client_secret,
            "OP_REDIRECT_URI": self.redirect_uri,
            "OP_KEYS_FILE": str(keys_file),
            "OP_PEOPLE_FILE": str(people_file),
            "OP_EXTRA_PROFILE_CLAIMS": ",".join(self.extra_profile_claims),
            "NODE_ENV": "production",
        }
        self.process = subprocess.Popen(
            ["node", str(HERE / "provider.mjs")],
            cwd=HERE,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith("ready "):
                return
            if self.process.poll() is not None:
                break
        output = self.process.stdout.read() if self.process.poll() is not None else ""
        self.stop()
        raise RuntimeError(f"the OpenID provider did not start: {line}{output}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def restart(self, *, keys: list[dict] | None = None) -> None:
        if keys is not None:
            self.keys = keys
        self.stop()
        self.start()


class _Forms(HTMLParser):
    """The forms of a page: action, method and their inputs' names and values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append(
                {
                    "action": attributes.get("action", ""),
                    "method": attributes.get("method", "get"),
                    "fields": {},
                }
            )
        elif tag in ("input", "button") and self.forms and attributes.get("name"):
            self.forms[-1]["fields"][attributes["name"]] = attributes.get("value", "")
        elif tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])


def _page(response: requests.Response) -> _Forms:
    parsed = _Forms()
    parsed.feed(response.text)
    return parsed


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def sign_in(authorize_url: str, login: str, *, cancel: bool = False) -> str:
    """Go through the provider's own pages as the person `login` (sign in, then
    consent), or cancel at the sign-in page. Returns the address the provider sends
    the browser back to (our callback, with `code` or `error`)."""
    provider = _origin(authorize_url)
    browser = requests.Session()
    response = browser.get(authorize_url, allow_redirects=False, timeout=10)
    for _step in range(12):
        if response.status_code in (302, 303):
            location = urljoin(response.url, response.headers["Location"])
            if _origin(location) != provider:
                return location  # back to the relying party
            response = browser.get(location, allow_redirects=False, timeout=10)
            continue
        assert response.status_code == 200, (response.status_code, response.text[:500])
        page = _page(response)
        if cancel:
            abort = next(link for link in page.links if link.endswith("/abort"))
            response = browser.get(urljoin(response.url, abort), allow_redirects=False, timeout=10)
            continue
        form = page.forms[0]
        fields = dict(form["fields"])
        if "login" in fields or fields.get("prompt") == "login":
            fields.update(login=login, password="any")
        response = browser.post(
            urljoin(response.url, form["action"]), data=fields, allow_redirects=False, timeout=10
        )
    raise AssertionError(f"the provider's pages did not lead back: {response.url}")
