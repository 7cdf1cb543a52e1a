"""What bin/serve runs once the database is ready: a check of the address, then
gunicorn.

The address. With a sandbox on (the sandbox identity provider, the sandbox payment
gateways: both on by default in the local settings), whoever reaches the server can
approve any test identity and mark any fee as paid. So bin/serve binds loopback by
default, and any other address needs `--public` (or ALLOW_PUBLIC_SANDBOX=1); without
it, it refuses, says why, and exits with status 2.

The server. Django's runserver listens with a backlog of a few connections and
resets the rest under load. gunicorn's gthread worker accepts every connection
(a generous backlog) and queues requests for its threads. One process only: the
local settings' cache is the process's memory (locmemcache), and the sandbox
identity provider keeps its codes and key there, as do the throttles; a second
process would not see them. The sandbox pages call back into the same server,
which the other threads answer.

Usage: python -m config.serve [--check] [--public] [--reload]
Environment: HOST (127.0.0.1), PORT (8000), SERVE_THREADS (16),
ALLOW_PUBLIC_SANDBOX, and DJANGO_SETTINGS_MODULE as for manage.py."""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = "8000"
DEFAULT_THREADS = 16
BACKLOG = 2048  # the kernel caps it at net.core.somaxconn


def is_loopback(host: str) -> bool:
    """True when every address `host` stands for is a loopback one. The wildcard
    addresses (0.0.0.0, ::) listen on every interface, so they are not."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(found) and all(
        ipaddress.ip_address(address.split("%")[0]).is_loopback for address in found
    )


def sandboxes_on() -> list[str]:
    """The names of the sandbox settings that are on."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    from django.conf import settings

    return [
        name
        for name in ("IDENTITY_SANDBOX_ENABLED", "PAYMENTS_SANDBOX_ENABLED")
        if getattr(settings, name, False)
    ]


def danger(sandboxes: list[str]) -> str:
    return (
        "It is not a loopback address, and the sandboxes are on "
        f"({', '.join(sandboxes)}). Anyone who can reach it can approve any "
        "test identity at /sandbox-idp/ and mark any fee as paid on the sandbox payment "
        "page, as any resident; the demo logins and their password are in the README."
    )


def check_address(host: str, port: str, *, public: bool) -> int:
    """0 when serving on host:port is fine (or allowed with --public), else 2."""
    if is_loopback(host):
        return 0
    sandboxes = sandboxes_on()
    if not sandboxes:
        return 0
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if public:
        print(
            f"WARNING: serving on {address} as asked (--public / ALLOW_PUBLIC_SANDBOX). "
            f"{danger(sandboxes)} Only do this on a network where you trust "
            "everyone. Set SITE_URL and ALLOWED_HOSTS to the address people use.",
            file=sys.stderr,
        )
        return 0
    print(
        f"Refusing to serve on {address}. {danger(sandboxes)}\n"
        f"Serve on {DEFAULT_HOST} (unset HOST), or turn the sandboxes off "
        "(IDENTITY_SANDBOX_ENABLED=0 PAYMENTS_SANDBOX_ENABLED=0), or, on a network where "
        "you trust everyone, run `bin/serve --public` (or set ALLOW_PUBLIC_SANDBOX=1).",
        file=sys.stderr,
    )
    return 2


def gunicorn_argv(host: str, port: str, *, threads: int, reload: bool) -> list[str]:
    bind = f"[{host.strip('[]')}]:{port}" if ":" in host else f"{host}:{port}"
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        f"--bind={bind}",
        "--worker-class=gthread",
        "--workers=1",
        f"--threads={threads}",
        f"--backlog={BACKLOG}",
        # A PDF render or a sandbox back-channel call may take a while on a busy machine.
        "--timeout=120",
        "--graceful-timeout=10",
        "--access-logfile=-",
        "--error-logfile=-",
    ]
    if _has_control_socket():
        # One socket per user by default: a second bin/serve (another port, another
        # checkout) would take over the first one's. Nothing here needs it.
        argv.append("--no-control-socket")
    if reload:
        argv.append("--reload")
    return argv


def _has_control_socket() -> bool:
    from gunicorn.config import Config

    return "control_socket_disable" in Config().settings


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/serve", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--public",
        action="store_true",
        help="allow a non-loopback HOST while a sandbox is on (unsafe, see above)",
    )
    parser.add_argument("--reload", action="store_true", help="restart when code changes")
    parser.add_argument("--check", action="store_true", help="check the address only")
    options = parser.parse_args(argv)
    host = os.environ.get("HOST") or DEFAULT_HOST
    port = os.environ.get("PORT") or DEFAULT_PORT
    public = options.public or _flag("ALLOW_PUBLIC_SANDBOX")
    refused = check_address(host, port, public=public)
    if refused or options.check:
        return refused
    threads = int(os.environ.get("SERVE_THREADS") or DEFAULT_THREADS)
    command = gunicorn_argv(host, port, threads=threads, reload=options.reload)
    os.execv(command[0], command)  # noqa: S606 - our own fixed argv, no shell
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
