"""The digitization API and the open data: the same figures as the dashboard,
exports in CSV and JSON, snapshots, the gap, the audit log; who may call what;
and what each list costs."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from digitization import services
from digitization.models import Snapshot, SnapshotKind
from tests.digitization.setup import api, outside, previous_fiscal_year, signed_in

pytestmark = pytest.mark.django_db

SUMMARY = "/api/v1/digitization/summary/"
OPEN_SUMMARY = "/api/v1/open-data/summary/"


def test_the_summary_gives_the_hand_computed_figures(inventory):
    body = api(inventory.auditor).get(SUMMARY, {"fiscal_year": previous_fiscal_year()}).json()
    figures = body["figures"]
    assert figures["availability_by_volume"] == 0.791667
    assert figures["availability_by_count"] == 0.6
    assert figures["usage"] == 0.625
    assert (figures["volume"], figures["digital_volume"]) == (2400, 1900)
    assert body["gap"] == {
        "target": 0.98,
        "reached": False,
        "cases_short": 452,
        "procedures_needed": 2,
        "count_short": 2,
    }
    assert figures["matrix"]["paperless"] == {"pass": 3, "exempt": 1, "fail": 1}
    assert body["organization"]["code"] == "city"
    assert body["period"]["first_month"].endswith("-04") and body["period"]["last_month"].endswith(
        "-03"
    )
    drill = api(inventory.auditor).get(
        SUMMARY, {"organization": "taxation", "fiscal_year": previous_fiscal_year()}
    )
    assert drill.json()["figures"]["availability_by_volume"] == 0.625


def test_the_public_endpoint_returns_the_dashboards_figures(inventory):
    """Anyone, without logging in, gets what the auditor of the whole government sees."""
    public = api().get(OPEN_SUMMARY).json()
    auditor = api(inventory.auditor).get(SUMMARY).json()
    assert public["figures"] == auditor["figures"]
    assert public["gap"] == auditor["gap"]
    page = signed_in(inventory.auditor).get("/digitization/").content.decode()
    headline = re.search(r'figure__value">([^<]+)<', page).group(1)
    assert headline == f"{public['figures']['availability_by_volume'] * 100:.1f}%"
    # Every procedure is listed, with nothing about any person.
    listed = api().get("/api/v1/open-data/procedures/", {"page_size": 200}).json()
    assert listed["count"] == 6
    first = listed["results"][0]
    assert set(first) == {
        "code",
        "title_ja",
        "title_en",
        "organization",
        "channel",
        "hosted",
        "in_force",
        "annual_volume",
        "volume_fiscal_year",
        "digital",
        "stages",
        "principles",
    }
    in_force = [row for row in listed["results"] if row["in_force"]]
    assert sum(row["annual_volume"] for row in in_force) == public["figures"]["volume"]
    assert (
        sum(row["annual_volume"] for row in in_force if row["digital"])
        == public["figures"]["digital_volume"]
    )
    text = json.dumps(listed, ensure_ascii=False)
    for user in (inventory.auditor, inventory.tax_admin, inventory.resident):
        assert user.email not in text and user.display_name not in text


def test_the_open_data_csv_lists_every_procedure(inventory):
    response = api().get("/api/v1/open-data/procedures.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 6
    d = next(row for row in rows if row["code"] == "d-return")
    assert (d["digital"], d["application_stage"], d["paperless"], d["annual_volume"]) == (
        "0",
        "offline",
        "fail",
        "300",
    )
    b = next(row for row in rows if row["code"] == "b-licence")
    assert (b["digital"], b["attachments_stage"], b["paperless"]) == ("1", "exempt", "exempt")


def test_exports_for_auditors_in_csv_and_json(inventory):
    client = api(inventory.auditor)
    response = client.get("/api/v1/digitization/procedures.json", {"organization": "taxation"})
    document = json.loads(b"".join(response.streaming_content))
    assert {row["code"] for row in document["procedures"]} == {
        "c-notice",
        "d-return",
        "f-abolished",
    }
    assert document["target"] == 0.98
    departments = client.get("/api/v1/digitization/departments.csv")
    rows = list(
        csv.DictReader(io.StringIO(b"".join(departments.streaming_content).decode("utf-8-sig")))
    )
    assert [row["code"] for row in rows] == ["city", "health", "food", "taxation", "certificates"]
    taxation = next(row for row in rows if row["code"] == "taxation")
    assert (
        taxation["procedures"],
        taxation["availability_by_volume"],
        taxation["parent_code"],
    ) == ("2", "0.625", "city")
    listed = client.get("/api/v1/digitization/departments/", {"parent": "city"}).json()
    assert [row["code"] for row in listed["results"]] == ["health", "taxation"]


def test_the_inventory_api_filters(inventory):
    client = api(inventory.auditor)

    def codes(**params):
        return {
            row["code"]
            for row in client.get("/api/v1/digitization/procedures/", params).json()["results"]
        }

    assert codes(digital="false", in_force="true") == {"d-return", "e-course"}
    assert codes(principle="paperless", principle_status="exempt") == {"b-licence"}
    assert codes(organization="health") == {"a-permit", "b-licence"}
    assert codes(channel="platform") == {"a-permit", "b-licence"}
    assert codes(q="course") == {"e-course"}
    detail = client.get("/api/v1/digitization/procedures/b-licence/").json()
    assert detail["stages"]["attachments"] == "exempt" and detail["digital"] is True
    assert client.get("/api/v1/digitization/procedures/nope/").status_code == 404


def test_the_gap_is_ranked_with_the_rate_reached_down_the_list(inventory):
    body = api(inventory.auditor).get("/api/v1/digitization/gap/").json()
    assert [(row["rank"], row["procedure"]["code"]) for row in body["results"]] == [
        (1, "d-return"),
        (2, "e-course"),
    ]
    assert body["results"][0]["share"] == 0.125  # 300 / 2400
    assert body["results"][0]["rate_after"] == 0.916667  # 2200 / 2400
    assert body["results"][1]["rate_after"] == 1.0
    second_page = (
        api(inventory.auditor).get("/api/v1/digitization/gap/", {"page_size": 1, "page": 2}).json()
    )
    assert second_page["results"][0]["rank"] == 2 and second_page["results"][0]["rate_after"] == 1.0


def test_snapshots_by_day_month_end_and_fiscal_year_end(inventory):
    assert services.snapshot_kinds(date(2026, 11, 25)) == ["daily"]
    assert services.snapshot_kinds(date(2026, 11, 30)) == ["daily", "month_end"]
    assert services.snapshot_kinds(date(2027, 3, 31)) == ["daily", "month_end", "fiscal_year_end"]
    services.snapshot_take(day=date(2027, 3, 31))
    services.snapshot_take(day=date(2027, 3, 31))  # again: replaced, not added
    assert Snapshot.objects.count() == 3
    snapshot = Snapshot.objects.get(kind=SnapshotKind.FISCAL_YEAR_END)
    assert (snapshot.fiscal_year, snapshot.volume, snapshot.digital_volume) == (2026, 2400, 1900)
    assert snapshot.organizations["taxation"]["volume"] == 800
    body = (
        api(inventory.health_auditor)
        .get("/api/v1/digitization/snapshots/", {"kind": "month_end"})
        .json()
    )
    assert body["count"] == 1
    assert body["results"][0]["figures"]["volume"] == 1400  # the health bureau's
    assert body["results"][0]["figures"]["availability_by_volume"] == 1.0


def test_the_snapshot_task_runs_from_beat(inventory, settings):
    from digitization.tasks import take_snapshots

    entry = settings.CELERY_BEAT_SCHEDULE["digitization-snapshots-daily"]
    assert entry["task"] == "digitization.tasks.take_snapshots"
    ids = take_snapshots.delay("2027-04-30").get()
    assert [Snapshot.objects.get(pk=pk).kind for pk in ids] == ["daily", "month_end"]


def test_the_exemption_review_api_lists_by_state(inventory):
    body = (
        api(inventory.auditor)
        .get("/api/v1/digitization/exemptions/", {"review": "in_force"})
        .json()
    )
    assert [row["procedure"]["code"] for row in body["results"]] == ["b-licence"]
    assert (
        api(inventory.auditor)
        .get("/api/v1/digitization/exemptions/", {"review": "expired"})
        .json()["count"]
        == 0
    )
    assert api(inventory.food_clerk).get("/api/v1/digitization/exemptions/").status_code == 403


def test_the_audit_log_api_and_its_verification(inventory):
    client = api(inventory.auditor)
    assert client.get("/api/v1/digitization/audit-log/verification/").status_code == 404
    checked = client.post("/api/v1/digitization/audit-log/verification/")
    assert checked.status_code == 201 and checked.json()["ok"] is True
    events = client.get(
        "/api/v1/digitization/audit-log/", {"action": "digitization.*", "page_size": 2}
    ).json()
    assert all(row["action"].startswith("digitization.") for row in events["results"])
    assert events["next"] and "cursor=" in events["next"]
    assert api(inventory.resident).get("/api/v1/digitization/audit-log/").status_code == 403


def test_who_may_call_what(inventory):
    resident, clerk, health = (
        api(inventory.resident),
        api(inventory.food_clerk),
        api(inventory.health_auditor),
    )
    assert api().get(SUMMARY).status_code in (401, 403)
    assert resident.get(SUMMARY).json()["error"]["code"] == "permission_denied"
    assert clerk.get(SUMMARY).status_code == 403
    assert clerk.get("/api/v1/digitization/procedures/").status_code == 200
    assert health.get(SUMMARY, {"organization": "taxation"}).status_code == 404
    assert health.get("/api/v1/digitization/procedures/c-notice/").status_code == 404
    assert {
        row["code"] for row in health.get("/api/v1/digitization/procedures/").json()["results"]
    } == {
        "a-permit",
        "b-licence",
    }


def _count(client, path, params=None) -> int:
    client.get(path, params or {})
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params or {})
    assert response.status_code == 200, path
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    return len(queries)


@pytest.mark.parametrize(
    "path",
    [
        SUMMARY,
        "/api/v1/digitization/procedures/",
        "/api/v1/digitization/departments/",
        "/api/v1/digitization/gap/",
        "/api/v1/digitization/procedures.csv",
        OPEN_SUMMARY,
        "/api/v1/open-data/procedures/",
        "/api/v1/open-data/departments/",
    ],
)
def test_api_lists_cost_the_same_number_of_queries_for_few_or_many_procedures(inventory, path):
    client = api(inventory.auditor) if "open-data" not in path else api()
    few = _count(client, path)
    for index in range(40):
        outside(
            f"more-{index:03d}",
            inventory.certificates,
            10 + index,
            offline=["payment"] if index % 3 else [],
        )
    assert _count(client, path) == few
    assert few <= 20, few
