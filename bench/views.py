"""Baseline views: the least a Django view can do with the same request body, in
the same server process, behind the same middleware."""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

BASELINE_TABLE = "bench_baseline_filing"


def ensure_baseline_table() -> None:
    """The table the insert baseline writes to (not a model: it is no part of the
    platform). Called by the benchmark before the server starts."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {BASELINE_TABLE} ("
            " id bigserial PRIMARY KEY,"
            " created_at timestamptz NOT NULL DEFAULT now(),"
            " data jsonb NOT NULL)"
        )


@csrf_exempt
@require_POST
def baseline_insert(request: HttpRequest) -> HttpResponse:
    """B1's baseline: parse the JSON body and INSERT it as one row."""
    body = json.loads(request.body)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {BASELINE_TABLE} (data) VALUES (%s) RETURNING id",  # noqa: S608
            [json.dumps(body)],
        )
        (row_id,) = cursor.fetchone()
    return JsonResponse({"id": row_id}, status=201)


@csrf_exempt
@require_POST
def baseline_parse(request: HttpRequest) -> HttpResponse:
    """B6's baseline (payment webhooks): parse the same body, answer 200."""
    json.loads(request.body)
    return JsonResponse({"ok": True})


@require_GET
def baseline_ping(request: HttpRequest) -> HttpResponse:
    """The cheapest request (B7 mixes it in; also the server's readiness check)."""
    return HttpResponse("ok", content_type="text/plain")
