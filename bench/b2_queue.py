"""B2: the clerks' queue at a million applications.

A reviewer of one bureau (so the queue is filtered by organization: the bureau's
departments and their procedures) asks for the applications in one state
("submitted"), sorted by due date: the first page and page 1,000 (25 rows a page),
through the API (GET /api/v1/queue/, bearer token) and the HTML page (/casework/,
a second-factor session). Requests go through Django's whole stack in-process
(the test client; no network), so the figures are the platform's own cost.

Baseline: the same response data fetched by one hand-written SQL statement with
psycopg on its own connection: the 25 rows with procedure, applicant and assignee
(keyset by a row comparison, the best SQL can do) and the per-state counts the
queue shows, in one round trip. For the smallest department, the statement names
the department's procedures by id and picks the page's ids before joining
(RAW_ROWS_BY_IDS): joined by the organization's path, PostgreSQL misplans it once
other benchmarks' applications share the table. Also for information: the rows
alone (ORM selector against the raw rows query), the counts alone, and the small
department against the statement joining by path.

Target: at most 2x the raw query; page 1,000 at most 1.2x the first page; the
same number of queries on both pages.
"""

from __future__ import annotations

import time
from typing import Any

from bench import data
from bench.core import Benchmark, Check, Comparison, Context, Result, interleave

STATE = "submitted"
PAGE_SIZE = 25

RAW_ROWS = """
SELECT a.id, a.reference, a.status, a.submitted_at, a.due_date, a.on_behalf_of_name,
       a.on_behalf_of_relationship, p.code, p.title_ja, p.title_en,
       u.id, u.display_name, s.id, s.display_name
FROM applications_application a
JOIN procedures_procedure p ON p.id = a.procedure_id
JOIN accounts_organization o ON o.id = p.owning_organization_id
JOIN accounts_user u ON u.id = a.applicant_id
LEFT JOIN accounts_user s ON s.id = a.assignee_id
WHERE o.path LIKE %(path)s AND a.status = %(state)s {after}
ORDER BY a.due_date, a.id
LIMIT %(limit)s
"""
AFTER = "AND (a.due_date, a.id) > (%(day)s, %(id)s)"
RAW_COUNTS = """
SELECT a.status, count(*)
FROM applications_application a
JOIN procedures_procedure p ON p.id = a.procedure_id
JOIN accounts_organization o ON o.id = p.owning_organization_id
WHERE o.path LIKE %(path)s AND a.status <> 'draft'
GROUP BY a.status
"""
# The same data for a small department, as the best statement we found writes it: the
# department's procedures named by id (looked up beforehand, not timed) and the page's
# ids chosen before the joins. With B4's ten million applications in the same table,
# the statement above, joining the organization by path, makes PostgreSQL guess an
# average share of the applications and walk the whole (status, due_date, id) index
# for a department of 8,000 (0.4 s): it no longer measures what SQL can do there.
RAW_ROWS_BY_IDS = """
SELECT a.id, a.reference, a.status, a.submitted_at, a.due_date, a.on_behalf_of_name,
       a.on_behalf_of_relationship, p.code, p.title_ja, p.title_en,
       u.id, u.display_name, s.id, s.display_name
FROM (SELECT id FROM applications_application
      WHERE procedure_id = ANY(%(procedures)s) AND status = %(state)s
      ORDER BY due_date, id LIMIT %(limit)s) page
JOIN applications_application a ON a.id = page.id
JOIN procedures_procedure p ON p.id = a.procedure_id
JOIN accounts_user u ON u.id = a.applicant_id
LEFT JOIN accounts_user s ON s.id = a.assignee_id
ORDER BY a.due_date, a.id
"""
RAW_COUNTS_BY_IDS = """
SELECT a.status, count(*)
FROM applications_application a
WHERE a.procedure_id = ANY(%(procedures)s) AND a.status <> 'draft'
GROUP BY a.status
"""
RAW_RESPONSE = """
SELECT (SELECT json_agg(r) FROM ({rows}) r),
       (SELECT json_object_agg(c.status, c.count) FROM ({counts}) c)
"""


def _dataset(context: Context, params: dict[str, Any]) -> data.Catalogue:
    from applications.models import Application

    prefix = f"b2-{params['applications']}"
    catalogue = data.catalogue_load(prefix)
    if catalogue is not None:
        existing = Application.objects.filter(procedure__in=catalogue.procedures).count()
        if existing == params["applications"]:
            context.log(f"reusing {existing:,} applications ({prefix})")
            return catalogue
        raise RuntimeError(
            f"{prefix} holds {existing} applications, not {params['applications']}: "
            "drop the benchmark database (bin/bench --reset-db) and run again"
        )
    started = time.perf_counter()
    catalogue = data.catalogue_build(
        bureaus=params["bureaus"],
        departments_per_bureau=params["departments_per_bureau"],
        procedures=params["procedures"],
        prefix=prefix,
    )
    applicants = data.users_create(count=params["applicants"], prefix=f"{prefix}-resident")
    context.log(f"catalogue and {len(applicants):,} residents built")
    chunk = 250_000
    for offset in range(0, params["applications"], chunk):
        count = min(chunk, params["applications"] - offset)
        data.applications_generate(
            catalogue,
            count=count,
            applicants=applicants,
            seed=offset,
            reference_offset=offset + _reference_base(prefix),
        )
        context.log(f"{offset + count:,} applications written")
    data.case_counts_rebuild()
    data.vacuum_analyze()
    context.log(f"dataset ready in {time.perf_counter() - started:.0f} s")
    return catalogue


def _reference_base(prefix: str) -> int:
    # Distinct reference blocks per dataset size, so datasets can live side by side.
    return (sum(map(ord, prefix)) % 997) * 10_000_000


def _raw_connection(context: Context):
    import psycopg

    # No server-side prepared statements (Django does not use them either): after
    # five runs psycopg would switch to a generic plan, slower for the keyset query.
    return psycopg.connect(
        context.database_url.replace("postgres://", "postgresql://", 1), prepare_threshold=None
    )


def run(context: Context, params: dict[str, Any]) -> Result:
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from knox.models import AuthToken

    from accounts.models import Role
    from applications.casework.queue import (
        QueueFilters,
        _encode,
        _filtered,
        _key,
        _ordering,
        queue_page,
    )
    from applications.casework.queue import state_counts as queue_state_counts
    from applications.models import Application
    from procedures.models import Procedure

    result = Result(id="B2", title=BENCHMARK.title, scale=context.scale)
    prefix = f"b2-{params['applications']}"
    catalogue = _dataset(context, params)
    bureau = catalogue.bureaus[0]
    clerk, device = data.staff_member(
        organization=bureau,
        role=Role.CLERK,
        email=f"b2-clerk-{params['applications']}@bench.example.jp",
    )
    _instance, token = AuthToken.objects.create(user=clerk)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    page = Client(HTTP_ACCEPT_LANGUAGE="en")
    page.post("/accounts/login/", {"email": clerk.email, "password": data.BENCH_PASSWORD})
    verified = page.post("/accounts/2fa/", {"token": data.totp_code(device)})
    if verified.status_code != 302:
        raise RuntimeError(f"the clerk's second factor failed ({verified.status_code})")

    # A small department too: there the planner must not walk the whole index. The
    # dataset's own departments only (others' benchmarks may have added some under
    # its bureaus), and the one with the fewest applications (but some).
    departments = [
        department
        for department in catalogue.departments
        if department.code.startswith(f"{prefix}-dept-")
    ]
    sizes = dict(
        Application.objects.filter(procedure__owning_organization__in=departments)
        .values_list("procedure__owning_organization")
        .annotate(total=Count("*"))
        .order_by()
    )
    small_department = min(
        [department for department in departments if sizes.get(department.pk)] or departments,
        key=lambda department: sizes.get(department.pk, 0),
    )
    small_clerk, _device = data.staff_member(
        organization=small_department,
        role=Role.CLERK,
        email=f"b2-small-clerk-{params['applications']}@bench.example.jp",
    )
    small_api = Client(
        HTTP_AUTHORIZATION=f"Bearer {AuthToken.objects.create(user=small_clerk)[1]}",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    small_params = {
        "path": f"{small_department.path}%",
        "procedures": list(
            Procedure.objects.filter(
                owning_organization__path__startswith=small_department.path
            ).values_list("pk", flat=True)
        ),
        "state": STATE,
        "limit": PAGE_SIZE + 1,
    }

    filters = QueueFilters(statuses=[STATE])
    matching = _filtered(clerk, filters).count()
    deep_page = min(params["deep_page"], max(2, matching // PAGE_SIZE))
    ordered = _filtered(clerk, filters).order_by(*_ordering("due"))
    last_before = ordered[(deep_page - 1) * PAGE_SIZE - 1]
    cursor = _encode(_key(last_before, "due"))
    result.notes.update(
        applications=params["applications"],
        organization=f"bureau {bureau.code} ({len(departments) // len(catalogue.bureaus)} departments)",
        state=STATE,
        matching_rows=matching,
        deep_page=deep_page,
        small_department=f"{small_department.code} ({sizes.get(small_department.pk, 0):,} applications)",
    )
    context.log(f"{matching:,} {STATE} applications visible to the clerk; deep page {deep_page}")

    api_url = f"/api/v1/queue/?status={STATE}"
    page_url = f"/casework/?status={STATE}"
    raw = _raw_connection(context)
    raw_params = {
        "path": f"{bureau.path}%",
        "state": STATE,
        "limit": PAGE_SIZE + 1,
        "day": last_before.due_date,
        "id": last_before.pk,
    }
    rows_first = RAW_ROWS.format(after="")
    rows_deep = RAW_ROWS.format(after=AFTER)

    def sql(statement: str, values: dict | None = None) -> list:
        with raw.cursor() as cursor:
            cursor.execute(statement, values or raw_params)
            return cursor.fetchall()

    def get(client: Client, url: str) -> Any:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url}: {response.status_code} {response.content[:300]!r}")
        return response

    # Correctness first: the API returns the rows the raw query returns.
    api_first_ids = [row["id"] for row in get(api, api_url).json()["results"]]
    api_deep_ids = [row["id"] for row in get(api, f"{api_url}&cursor={cursor}").json()["results"]]
    raw_first_ids = [row[0] for row in sql(rows_first)][:PAGE_SIZE]
    raw_deep_ids = [row[0] for row in sql(rows_deep)][:PAGE_SIZE]
    small_ids = [row["id"] for row in get(small_api, api_url).json()["results"]]
    raw_small_ids = [row[0] for row in sql(rows_first, small_params)][:PAGE_SIZE]
    raw_small_by_ids = [row[0] for row in sql(RAW_ROWS_BY_IDS, small_params)][:PAGE_SIZE]
    result.checks.append(
        Check(
            "API pages hold the raw query's rows",
            api_first_ids == raw_first_ids
            and api_deep_ids == raw_deep_ids
            and small_ids == raw_small_ids == raw_small_by_ids,
            f"first {len(api_first_ids)} rows, page {deep_page} {len(api_deep_ids)} rows, "
            f"small department {len(small_ids)} rows",
        )
    )

    def queries(client: Client, url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            get(client, url)
        return len(captured.captured_queries)

    counts = {
        "api first": queries(api, api_url),
        "api deep": queries(api, f"{api_url}&cursor={cursor}"),
        "page first": queries(page, page_url),
        "page deep": queries(page, f"{page_url}&cursor={cursor}"),
    }
    result.notes["queries_per_request"] = counts
    result.checks.append(
        Check(
            "query count constant (first page = deep page)",
            counts["api first"] == counts["api deep"]
            and counts["page first"] == counts["page deep"],
            f"API {counts['api first']} / {counts['api deep']}, "
            f"page {counts['page first']} / {counts['page deep']}",
        )
    )

    repeat = params["repeat"]

    def timing(function) -> Any:
        def measure() -> float:
            started = time.perf_counter()
            for _ in range(repeat):
                function()
            return (time.perf_counter() - started) / repeat

        return measure

    response_first = RAW_RESPONSE.format(rows=rows_first, counts=RAW_COUNTS)
    response_deep = RAW_RESPONSE.format(rows=rows_deep, counts=RAW_COUNTS)
    response_small = RAW_RESPONSE.format(rows=RAW_ROWS_BY_IDS, counts=RAW_COUNTS_BY_IDS)
    measures = {
        "raw first": timing(lambda: sql(response_first)),
        "raw deep": timing(lambda: sql(response_deep)),
        "api first": timing(lambda: get(api, api_url)),
        "api deep": timing(lambda: get(api, f"{api_url}&cursor={cursor}")),
        "page first": timing(lambda: get(page, page_url)),
        "page deep": timing(lambda: get(page, f"{page_url}&cursor={cursor}")),
        "raw rows first": timing(lambda: sql(rows_first)),
        "raw rows deep": timing(lambda: sql(rows_deep)),
        "orm rows first": timing(lambda: queue_page(clerk, filters)),
        "orm rows deep": timing(lambda: queue_page(clerk, filters, cursor=cursor)),
        "raw small": timing(lambda: sql(response_small, small_params)),
        "raw small by path": timing(lambda: sql(response_first, small_params)),
        "api small": timing(lambda: get(small_api, api_url)),
        "raw counts": timing(lambda: sql(RAW_COUNTS)),
        "orm counts": timing(lambda: queue_state_counts(clerk, filters)),
    }
    figures = interleave(params["rounds"], measures)
    raw.close()

    def compare(name, base, cand, target, base_label, cand_label):
        result.comparisons.append(
            Comparison(
                name=name,
                baseline_label=base_label,
                candidate_label=cand_label,
                unit="s",
                baseline=figures[base],
                candidate=figures[cand],
                target=target,
            )
        )

    raw_label = "one raw SQL statement (rows + counts), psycopg"
    compare("API, first page", "raw first", "api first", 2.0, raw_label, "GET /api/v1/queue/")
    compare(f"API, page {deep_page}", "raw deep", "api deep", 2.0, raw_label, "GET /api/v1/queue/")
    compare("HTML page, first page", "raw first", "page first", 2.0, raw_label, "GET /casework/")
    compare(
        f"HTML page, page {deep_page}", "raw deep", "page deep", 2.0, raw_label, "GET /casework/"
    )
    compare(
        "API, first page, smallest department",
        "raw small",
        "api small",
        2.0,
        "one raw SQL statement (rows + counts), procedures by id, page ids first",
        "GET /api/v1/queue/",
    )
    compare(
        f"API, page {deep_page} against the first page",
        "api first",
        "api deep",
        1.2,
        "API first page",
        f"API page {deep_page}",
    )
    compare(
        f"HTML page, page {deep_page} against the first page",
        "page first",
        "page deep",
        1.2,
        "HTML first page",
        f"HTML page {deep_page}",
    )
    compare(
        "rows only, first page",
        "raw rows first",
        "orm rows first",
        None,
        "raw rows query",
        "queue_page() (ORM)",
    )
    compare(
        f"rows only, page {deep_page}",
        "raw rows deep",
        "orm rows deep",
        None,
        "raw rows query",
        "queue_page() (ORM)",
    )
    compare(
        "counts only", "raw counts", "orm counts", None, "raw counts query", "state_counts() (ORM)"
    )
    compare(
        "API, first page, smallest department, against the statement joining by path",
        "raw small by path",
        "api small",
        None,
        "one raw SQL statement (rows + counts), organization joined by path",
        "GET /api/v1/queue/",
    )
    return result


BENCHMARK = Benchmark(
    id="B2",
    title="Clerk queue API and page at scale, first page and deep page",
    target="<= 2x one raw SQL query; deep page <= 1.2x first page; query count constant",
    run=run,
    full={
        "applications": 1_000_000,
        "applicants": 100_000,
        "bureaus": 8,
        "departments_per_bureau": 5,
        "procedures": 200,
        "deep_page": 1000,
        "rounds": 7,
        "repeat": 5,
    },
    small={
        "applications": 6_000,
        "applicants": 500,
        "bureaus": 2,
        "departments_per_bureau": 2,
        "procedures": 8,
        "deep_page": 5,
        "rounds": 3,
        "repeat": 1,
    },
)
