"""The benchmark database: created when missing and migrated, before Django is
used. Never the CI's or anyone else's database: the name must contain "bench"."""

from __future__ import annotations

import os


def prepare(*, reset: bool = False) -> None:
    import django
    import psycopg
    from django.conf import settings

    name = settings.DATABASES["default"]["NAME"]
    if "bench" not in name:
        raise SystemExit(f"refusing to run benchmarks on database {name!r} (no 'bench' in it)")
    db = settings.DATABASES["default"]
    admin_url = (
        f"postgresql://{db.get('USER') or 'postgres'}"
        f"{':' + db['PASSWORD'] if db.get('PASSWORD') else ''}"
        f"@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/postgres"
    )
    with psycopg.connect(admin_url, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and reset:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    os.makedirs(settings.MEDIA_ROOT, exist_ok=True)
