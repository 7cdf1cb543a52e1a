"""A client generated from the schema can file an application end to end (issue 18).

openapi-python-client reads the schema the live server serves at /api/schema/ and
writes a Python package into a temporary directory; the test imports it and, with
nothing but that package, a resident gets a bearer token, reads the catalogue,
starts a draft, saves each step, checks the draft, submits it with the declaration
and reads it back. Every answer must parse into the generated models (a field the
schema calls required but the server leaves out, a wrong type or a missing
`nullable` fails here), and every call must get the status the schema promises.
Generation is offline: the schema comes from the live server on loopback.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.applications.casework_setup import City, resident
from tests.factories import MY_NUMBER, PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

PACKAGE = "cityproc_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


def generate_client(base_url: str, directory: Path):
    schema = requests.get(f"{base_url}/api/schema/?format=json", timeout=30)
    assert schema.status_code == 200, schema.text
    (directory / "schema.json").write_text(schema.text, encoding="utf-8")
    # No post hooks: the generator would otherwise run ruff over the package.
    (directory / "config.json").write_text(
        json.dumps(
            {"project_name_override": PACKAGE, "package_name_override": PACKAGE, "post_hooks": []}
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(directory / "schema.json"),
            "--config",
            str(directory / "config.json"),
            "--output-path",
            str(directory / PACKAGE),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # The generator cannot express binary (PDF, CSV) responses and says so; those
    # warnings are its limits, not the schema's. Any other warning is a finding.
    warnings = [
        block
        for block in result.stdout.split("WARNING parsing ")[1:]
        if "Unsupported content_type" not in block
    ]
    assert (directory / PACKAGE / PACKAGE).is_dir(), result.stdout + result.stderr
    assert not warnings, "\n".join(warnings)
    sys.path.insert(0, str(directory / PACKAGE))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.pop(0)


def _api(name: str):
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def _model(name: str):
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def test_a_client_generated_from_the_schema_files_an_application(live_server, tmp_path):
    city = City()
    applicant = resident("生成 花子")
    client_package = generate_client(live_server.url, tmp_path)
    # The token comes from the generated client too: the token endpoint takes JSON
    # only, so its operation has one body type and its module imports.
    anonymous = client_package.Client(base_url=live_server.url, raise_on_unexpected_status=True)
    issued = _api("auth.v1_auth_token_create").sync_detailed(
        client=anonymous,
        body=_model("TokenRequestRequest")(email=applicant.email, password=PASSWORD),
    )
    assert issued.status_code == 201, issued.content
    resident_client = client_package.AuthenticatedClient(
        base_url=live_server.url,
        token=issued.parsed.token,
        headers={"Accept-Language": "en"},
        raise_on_unexpected_status=True,
    )

    catalogue = _api("catalogue.v1_procedures_list").sync_detailed(
        client=resident_client, page_size=50
    )
    assert catalogue.status_code == 200, catalogue.content
    codes = [procedure.code for procedure in catalogue.parsed.results]
    assert city.permit.code in codes

    started = _api("applications_resident.v1_applications_create").sync_detailed(
        client=resident_client,
        body=_model("ApplicationStartRequest")(procedure=city.permit.code),
    )
    assert started.status_code == 201, started.content
    draft = started.parsed
    assert draft.status == "draft"

    answers = _model("StepAnswersRequestAnswers")
    save_step = _api("applications_resident.v1_applications_steps_update").sync_detailed
    for step_key, values in (
        ("applicant", {"full_name": applicant.display_name, "my_number": MY_NUMBER}),
        ("details", {"purpose": "開業のため"}),
    ):
        saved = save_step(
            draft.id,
            step_key,
            client=resident_client,
            body=_model("StepAnswersRequest")(answers=answers.from_dict(values)),
        )
        assert saved.status_code == 200, saved.content
        assert saved.parsed.valid, saved.content

    checked = _api("applications_resident.v1_applications_check_retrieve").sync_detailed(
        draft.id, client=resident_client
    )
    assert checked.status_code == 200, checked.content
    assert checked.parsed.valid, checked.content

    submitted = _api("applications_resident.v1_applications_submit_create").sync_detailed(
        draft.id, client=resident_client, body=_model("SubmitRequest")(declaration=True)
    )
    assert submitted.status_code == 200, submitted.content
    assert submitted.parsed.reference

    read_back = _api("applications_resident.v1_applications_retrieve").sync_detailed(
        draft.id, client=resident_client
    )
    assert read_back.status_code == 200, read_back.content
    assert read_back.parsed.status == "submitted"
    assert read_back.parsed.reference == submitted.parsed.reference

    listed = _api("applications_resident.v1_applications_list").sync_detailed(
        client=resident_client
    )
    assert listed.status_code == 200, listed.content
    assert [item.id for item in listed.parsed.results] == [draft.id]
