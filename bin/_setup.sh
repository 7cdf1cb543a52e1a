# Shared set-up for bin/serve and bin/test: a virtualenv with the pinned
# requirements, and compiled translation catalogues. Sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

find_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    echo "Python 3.11 or newer is needed (python3.11 / python3 not found)." >&2
    exit 1
}

ensure_venv() {
    local requirements="$1"
    if [ ! -x "$PY" ]; then
        say "Creating the virtualenv in .venv"
        "$(find_python)" -m venv "$VENV"
    fi
    local stamp="$VENV/.installed-$(cat requirements*.txt | sha256sum | cut -c1-16)-$(basename "$requirements")"
    if [ ! -f "$stamp" ]; then
        say "Installing $requirements"
        "$PY" -m pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
        "$PY" -m pip install --quiet -r "$requirements" 2>&1 | grep -v '^WARNING: Location' || true
        "$PY" -c 'import django, rest_framework, celery, psycopg' \
            || { echo "Installing $requirements failed." >&2; exit 1; }
        rm -f "$VENV"/.installed-*
        touch "$stamp"
    fi
}

apt_install() {
    # Install Debian packages when we can (root with apt-get); otherwise name them.
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        say "Installing $* with apt-get"
        if [ ! -f /tmp/.cityproc-apt-updated ]; then
            DEBIAN_FRONTEND=noninteractive apt-get update -qq && touch /tmp/.cityproc-apt-updated
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    else
        echo "Missing system packages: $*. Install them (e.g. sudo apt-get install $*)." >&2
        return 1
    fi
}

ensure_system_packages() {
    local missing=()
    command -v msgfmt >/dev/null 2>&1 || missing+=(gettext)
    # WeasyPrint renders PDFs with Pango; documents embed a Japanese font.
    ldconfig -p 2>/dev/null | grep -q 'libpango-1.0' || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
    fc-list 2>/dev/null | grep -qi 'IPAex' || missing+=(fonts-ipaexfont-gothic fontconfig)
    # pdftotext/pdffonts/pdftoppm: the tests read the PDFs the platform issues.
    command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
    if [ "${#missing[@]}" -gt 0 ]; then
        apt_install "${missing[@]}"
    fi
}

ensure_node_packages() {
    # The independent implementations the edge tests start (tests/edges), from the
    # npm registry at the versions their package-lock.json pins.
    local directory="$1"
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        apt_install nodejs npm || return 1
    fi
    local stamp="$directory/node_modules/.installed-$(sha256sum "$directory/package-lock.json" | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        say "Installing the npm packages of $directory"
        (cd "$directory" && npm ci --no-audit --no-fund --loglevel=error) \
            || { echo "npm ci failed in $directory." >&2; return 1; }
        touch "$stamp"
    fi
}

# PostgreSQL and Redis on this machine (bin/test, bin/cluster): started when down,
# installed when missing.
PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_PORT=6379

ensure_postgres() {
    if ! command -v pg_ctlcluster >/dev/null 2>&1 && ! command -v psql >/dev/null 2>&1; then
        apt_install postgresql postgresql-client || exit 1
    fi
    if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; then
        say "Starting PostgreSQL"
        local version
        version="$(ls /etc/postgresql | sort -V | tail -n 1)"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start
        for _ in $(seq 1 30); do
            pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break
            sleep 1
        done
    fi
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || {
        echo "PostgreSQL does not answer on $PG_HOST:$PG_PORT." >&2
        exit 1
    }
}

ensure_redis() {
    if ! command -v redis-server >/dev/null 2>&1; then
        apt_install redis-server || exit 1
    fi
    if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
        say "Starting Redis"
        redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no
        for _ in $(seq 1 20); do
            redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
            sleep 0.5
        done
    fi
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 || {
        echo "Redis does not answer on 127.0.0.1:$REDIS_PORT." >&2
        exit 1
    }
}

compile_messages() {
    "$PY" manage.py compilemessages --ignore=.venv -v0
}
