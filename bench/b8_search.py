"""B8: the catalogue search at the inventory's size (30,000 published procedures).

Data: the eight demo procedures (imported from procedures/demo, as the demo seed
does) and a long tail of generated procedures written by COPY with their search
columns computed by the same analyser (procedures.search.search_index_of): titles
from the inventory's subjects and actions (飲食店営業 + 許可申請 + 様式), each with
an English title, a keyword and a small annual volume (the inventory's long tail;
the demo procedures are among the few with many cases, as in the real inventory).

Candidate: `selectors.search_procedures` over the published catalogue, as the
page and the API run it: the count and the first page of 50 rows, for each query
of docs/procedures.md's table that names a rank (Japanese, readings, half-width,
English, life events). The query's words are analysed inside the timing.

Baseline: one hand-written PostgreSQL statement per query on its own psycopg
connection, given the same patterns (computed beforehand, not timed): the same
LIKE conditions, the same rank as a CASE, count(*) OVER () and LIMIT 50.

Target: at most 2x. Checked alongside: the same rows in the same order for every
query, and every query of the table still finds its procedure at its rank.
"""

from __future__ import annotations

import random
from typing import Any

from bench.core import Benchmark, Check, Comparison, Context, Result, alternate

PAGE = 50
SUBJECT_VARIANTS = ["", "（法人）", "（個人）", "（特例）", "（軽微な変更）", "（電子）"]


def _like(form: str) -> str:
    escaped = form.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _dataset(context: Context, params: dict[str, Any]) -> int:
    import json
    from types import SimpleNamespace

    from accounts.models import Organization, OrganizationKind
    from accounts.services import organization_create
    from bench import data
    from digitization.inventory_seed import ACTIONS, SUBJECTS
    from procedures.demo import demo_documents, seed_procedure
    from procedures.models import Procedure, ProcedureVersion
    from procedures.search import search_index_of
    from procedures.services import starter_definition

    prefix = f"b8-{params['procedures']}"
    existing = Procedure.objects.filter(code__startswith=f"{prefix}-").count()
    if existing:
        context.log(f"reusing {existing:,} generated procedures ({prefix})")
        return existing
    government = Organization.objects.filter(code=f"{prefix}-gov").first() or organization_create(
        code=f"{prefix}-gov",
        name_ja="ベンチ都",
        name_en="Bench Metro",
        kind=OrganizationKind.GOVERNMENT,
    )
    departments = [
        Organization.objects.filter(code=f"{prefix}-dept-{d}").first()
        or organization_create(
            code=f"{prefix}-dept-{d}",
            name_ja=f"第{d + 1}部",
            name_en=f"Department {d + 1}",
            kind=OrganizationKind.DEPARTMENT,
            parent=government,
        )
        for d in range(20)
    ]
    for document in demo_documents():
        seed_procedure(document, organization=departments[0])

    from django.utils import timezone

    now = timezone.now()
    generator = random.Random(8)  # noqa: S311 - test data, reproducible by seed
    count = params["procedures"] - 8
    rows, titles = [], []
    for index in range(count):
        subject_ja, subject_en = SUBJECTS[index % len(SUBJECTS)]
        action_ja, action_en = ACTIONS[(index // len(SUBJECTS)) % len(ACTIONS)]
        variant = SUBJECT_VARIANTS[(index // 400) % len(SUBJECT_VARIANTS)]
        form = index // (400 * len(SUBJECT_VARIANTS)) + 1
        department = departments[index % len(departments)]
        procedure = SimpleNamespace(
            code=f"{prefix}-{index:05d}",
            title_ja=f"{subject_ja}{action_ja}{variant}（様式第{form}号）",
            title_en=f"{subject_en.capitalize()}: {action_en} (form {form})",
            description_ja="",
            description_en="",
            keywords=[subject_en],
            readings=[],
            owning_organization=department,
        )
        index_of = search_index_of(procedure)
        rows.append(
            {
                "code": procedure.code,
                "title_ja": procedure.title_ja,
                "title_en": procedure.title_en,
                "owning_organization_id": department.pk,
                "category": "other",
                "filer": "both",
                "identity_level": "email_verified",
                "processing_days": 10,
                "annual_volume": int(generator.paretovariate(1.2) * 5),
                "status": "active",
                "keywords": json.dumps(procedure.keywords, ensure_ascii=False),
                "readings": "[]",
                "life_events": "[]",
                "search_title": index_of.title,
                "search_keywords": index_of.keywords,
                "search_text": index_of.text,
                "created_at": now,
                "updated_at": now,
            }
        )
        titles.append(procedure.code)
    data.copy_rows(Procedure, rows)
    ids = dict(Procedure.objects.filter(code__in=titles).values_list("code", "pk"))
    definition = json.dumps(starter_definition(), ensure_ascii=False)
    data.copy_rows(
        ProcedureVersion,
        (
            {
                "procedure_id": ids[code],
                "number": 1,
                "state": "published",
                "definition": definition,
                "published_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for code in titles
        ),
    )
    data.analyze(Procedure, ProcedureVersion)
    context.log(f"{count:,} procedures generated")
    return count


def _raw_statement(words) -> tuple[str, dict[str, Any]]:
    """The hand-written statement of a query's words, with its parameters."""
    values: dict[str, Any] = {}
    conditions, ranks = [], []
    for n, word in enumerate(words):
        values[f"all{n}"] = [_like(form) for form in word.alternatives]
        values[f"own{n}"] = [_like(form) for form in word.forms]
        word_sql = f"p.search_text LIKE ANY(%(all{n})s)"
        title_sql = f"p.search_title LIKE ANY(%(all{n})s)"
        keywords_sql = f"p.search_keywords LIKE ANY(%(all{n})s)"
        for m, part in enumerate(word.parts):
            values[f"part{n}_{m}"] = [_like(form) for form in part]
        if word.parts:
            every = " AND ".join(
                f"p.{{column}} LIKE ANY(%(part{n}_{m})s)" for m in range(len(word.parts))
            )
            word_sql += f" OR ({every.format(column='search_text')})"
            title_sql += f" OR ({every.format(column='search_title')})"
            keywords_sql += f" OR ({every.format(column='search_keywords')})"
        events = ""
        if word.life_events:
            values[f"events{n}"] = [f'["{event}"]' for event in word.life_events]
            events = f"p.life_events @> ANY(%(events{n})s::jsonb[])"
            word_sql += f" OR {events}"
        conditions.append(f"({word_sql})")
        rank = (
            f"CASE WHEN p.search_title LIKE ANY(%(own{n})s) THEN 8 WHEN {title_sql} THEN 6 "
            f"WHEN p.search_keywords LIKE ANY(%(own{n})s) THEN 4 WHEN {keywords_sql} THEN 3 "
            + (f"WHEN {events} THEN 2 " if events else "")
            + "ELSE 1 END"
        )
        ranks.append(rank)
    # Our own column names are formatted in; every value is a parameter.
    statement = f"""
        SELECT p.id, count(*) OVER () AS total, ({" + ".join(ranks)}) AS rank
        FROM procedures_procedure p
        WHERE p.status = 'active'
          AND EXISTS (SELECT 1 FROM procedures_procedureversion v
                      WHERE v.procedure_id = p.id AND v.state = 'published')
          AND {" AND ".join(conditions)}
        ORDER BY rank DESC, p.annual_volume DESC, p.code
        LIMIT {PAGE}
    """  # noqa: S608
    return statement, values


def _documented_queries() -> list[tuple[str, str, int]]:
    from pathlib import Path

    from django.conf import settings

    text = (Path(settings.BASE_DIR) / "docs" / "procedures.md").read_text(encoding="utf-8")
    block = text.split("<!-- search-queries:start -->")[1].split("<!-- search-queries:end -->")[0]
    queries = []
    for line in block.strip().splitlines()[2:]:
        query, _kind, expected, rank = (cell.strip() for cell in line.strip("|").split("|"))
        if rank.isdigit():
            queries.append((query, expected, int(rank)))
    return queries


def run(context: Context, params: dict[str, Any]) -> Result:
    import time

    import psycopg

    from procedures import selectors
    from procedures.models import Procedure
    from procedures.search import query_words

    result = Result(id="B8", title=BENCHMARK.title, scale=context.scale)
    generated = _dataset(context, params)
    queries = _documented_queries()
    catalogue_size = selectors.published_procedures().count()
    raw = psycopg.connect(
        context.database_url.replace("postgres://", "postgresql://", 1), prepare_threshold=None
    )
    statements = {query: _raw_statement(query_words(query)) for query, _e, _r in queries}

    def platform(query: str) -> tuple[int, list[int]]:
        found = selectors.search_procedures(selectors.published_procedures(), query)
        return found.count(), [procedure.pk for procedure in found[:PAGE]]

    def baseline(query: str) -> tuple[int, list[int]]:
        statement, values = statements[query]
        with raw.cursor() as cursor:
            cursor.execute(statement, values)
            rows = cursor.fetchall()
        return (rows[0][1] if rows else 0), [row[0] for row in rows]

    mismatched, misranked = [], []
    for query, expected, rank in queries:
        total, page = platform(query)
        if (total, page) != baseline(query):
            mismatched.append(query)
        codes = dict(Procedure.objects.filter(pk__in=page).values_list("pk", "code"))
        ordered = [codes[pk] for pk in page]
        if expected not in ordered or ordered.index(expected) + 1 != rank:
            misranked.append(f"{query}: {ordered[:3]}")

    japanese = [q for q in queries if not q[0].isascii()]
    english = [q for q in queries if q[0].isascii()]
    for label, subset in (("Japanese", japanese), ("English", english)):

        def timed(measure, subset=subset) -> float:
            started = time.perf_counter()
            for query, _expected, _rank in subset:
                measure(query)
            return (time.perf_counter() - started) / len(subset) * 1000

        base, candidate = alternate(
            params["rounds"],
            lambda timed=timed: timed(baseline),
            lambda timed=timed: timed(platform),
        )
        result.comparisons.append(
            Comparison(
                name=f"search, {label} queries ({len(subset)}), count and first page of {PAGE}",
                baseline_label="one raw PostgreSQL statement",
                candidate_label="selectors.search_procedures",
                unit="ms/query",
                baseline=base,
                candidate=candidate,
                target=2.0,
            )
        )
    raw.close()
    result.checks.append(
        Check("the same rows as the raw statement", not mismatched, ", ".join(mismatched))
    )
    result.checks.append(
        Check("the documented ranks hold at this size", not misranked, "; ".join(misranked))
    )
    result.notes.update(procedures=catalogue_size, generated=generated, queries=len(queries))
    return result


BENCHMARK = Benchmark(
    id="B8",
    title="Catalogue search with readings and synonyms at 30,000 procedures",
    target="at most 2x one raw PostgreSQL statement; the documented ranking holds",
    run=run,
    full={"procedures": 30_000, "rounds": 5},
    small={"procedures": 400, "rounds": 2},
)
