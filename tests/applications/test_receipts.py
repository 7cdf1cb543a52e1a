"""The receipt (受付票) and checking documents: one signed PDF per submitted
application, Japanese font embedded, the Individual Number never printed in clear,
and a public page that tells an authentic document from a changed or foreign one."""

import base64
import gc
import hashlib
import io
import shutil
import subprocess
import threading
import time

import pytest
import segno
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import override_settings
from PIL import Image

from accounts.models import Notification
from applications.documents import (
    normalize_verification_code,
    receipt_issue,
    verify_code,
    verify_pdf,
)
from applications.models import Application, ApplicationEvent, IssuedDocument
from applications.services import (
    application_save_step,
    application_start,
    application_submit,
)
from applications.tasks import issue_receipt
from audit.models import AuditEvent
from core import pdf
from core.errors import Conflict
from tests.factories import MY_NUMBER, UserFactory, applicant_step, publish_procedure

pytestmark = pytest.mark.django_db


DEFINITION = {
    "form": {
        "steps": [
            applicant_step(),
            {
                "key": "household",
                "title": {"ja": "世帯", "en": "Household"},
                "fields": [
                    {
                        "key": "members",
                        "type": "group",
                        "label": {"ja": "世帯員", "en": "Household members"},
                        "fields": [
                            {
                                "key": "member_name",
                                "type": "text",
                                "label": {"ja": "世帯員の氏名", "en": "Member's name"},
                                "required": True,
                            },
                            {
                                "key": "relationship",
                                "type": "choice",
                                "label": {"ja": "続柄", "en": "Relationship"},
                                "required": True,
                                "choices": [
                                    {"value": "child", "label": {"ja": "子", "en": "Child"}},
                                    {"value": "spouse", "label": {"ja": "配偶者", "en": "Spouse"}},
                                ],
                            },
                        ],
                    },
                    {
                        "key": "certificate",
                        "type": "file",
                        "label": {"ja": "在職証明書", "en": "Certificate of employment"},
                        "accept": ["pdf"],
                    },
                ],
            },
        ]
    },
    "fee": {"kind": "none"},
    "workflow": {"approval": "single"},
    "delivery": {"methods": ["electronic"]},
    "contact": {"channels": ["email"]},
}


@pytest.fixture
def procedure(db):
    return publish_procedure(
        code="childcare-allowance",
        definition=DEFINITION,
        title_ja="児童手当認定請求",
        title_en="Child allowance claim",
        category="childcare",
        processing_days=14,
    )


@pytest.fixture
def resident(db):
    return UserFactory(display_name="山田 花子")


def _submitted(procedure, resident, **start):
    application = application_start(actor=resident, procedure=procedure, **start)
    application_save_step(
        actor=resident,
        application=application,
        step_key="applicant",
        answers={"full_name": "山田 花子", "my_number": MY_NUMBER},
    )
    application_save_step(
        actor=resident,
        application=application,
        step_key="household",
        answers={
            "members": [
                {"member_name": "山田 太郎", "relationship": "child"},
                {"member_name": "山田 一郎", "relationship": "spouse"},
            ]
        },
    )
    return application_submit(actor=resident, application=application, declaration=True)


@pytest.fixture
def application(procedure, resident):
    return _submitted(procedure, resident)


@pytest.fixture
def receipt(application):
    return receipt_issue(application_id=application.pk)


def _poppler(tool: str, data: bytes, tmp_path) -> str:
    if shutil.which(tool) is None:
        pytest.fail(
            f"{tool} is missing: install the Debian package poppler-utils "
            "(and add it to bin/_setup.sh's system packages)."
        )
    path = tmp_path / "document.pdf"
    path.write_bytes(data)
    arguments = [tool, str(path), "-"] if tool == "pdftotext" else [tool, str(path)]
    return subprocess.run(arguments, capture_output=True, text=True, check=True).stdout


def _pdf_bytes(document: IssuedDocument) -> bytes:
    with document.pdf.open("rb") as stored:
        return stored.read()


# --- Issuing ---------------------------------------------------------------------------


def test_a_submitted_application_gets_one_signed_pdf_receipt(application, receipt):
    data = _pdf_bytes(receipt)
    assert data.startswith(b"%PDF-")
    assert receipt.kind == "receipt"
    assert receipt.pdf.name.startswith("documents/") and receipt.pdf.name.endswith(".pdf")
    assert application.reference not in receipt.pdf.name  # the name gives nothing away
    assert len(receipt.verification_code) == 19
    assert normalize_verification_code(receipt.verification_code) == receipt.verification_code
    assert receipt.content["reference"] == application.reference
    assert receipt.content["submission_digest"] == application.submission_digest
    assert (
        ApplicationEvent.objects.filter(application=application, kind="receipt_issued").count() == 1
    )
    assert AuditEvent.objects.filter(action="applications.receipt_issued").count() == 1


def test_issuing_the_receipt_again_returns_the_same_document(application, receipt):
    again = receipt_issue(application_id=application.pk)
    issue_receipt.delay(application.pk)  # the task, as on_commit schedules it
    assert again.pk == receipt.pk
    assert IssuedDocument.objects.filter(application=application).count() == 1
    assert (
        ApplicationEvent.objects.filter(application=application, kind="receipt_issued").count() == 1
    )


def test_a_draft_has_no_receipt(procedure, resident):
    draft = application_start(actor=resident, procedure=procedure)
    with pytest.raises(Conflict):
        receipt_issue(application_id=draft.pk)
    assert not IssuedDocument.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_issuing_at_once_make_one_receipt(procedure, resident):
    application = _submitted(procedure, resident)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def issue():
        try:
            barrier.wait()
            results.append(receipt_issue(application_id=application.pk).pk)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(results)) == 1
    assert IssuedDocument.objects.filter(application=application).count() == 1


def _wait_for(path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out waiting for {path.name}.")
        time.sleep(0.02)


def _lock_now(application) -> None:
    """Lock the application's row in a transaction of this thread, not waiting:
    raises if another transaction holds it."""
    with transaction.atomic():
        Application.objects.select_for_update(nowait=True).get(pk=application.pk)


@pytest.mark.django_db(transaction=True)
def test_two_runs_rendering_at_once_store_one_receipt_without_locking_while_rendering(
    procedure, resident, settings, tmp_path, broker_down
):
    # The submission's task is not queued (the broker is down), so no receipt yet:
    # two runs (a redelivered task and the sweep, say) issue it at once.
    settings.MEDIA_ROOT = media = tmp_path / "media"
    application = _submitted(procedure, resident)
    assert not application.documents.exists()
    notifications = Notification.objects.filter(user=resident).count()
    # Each run holds after rendering while the gate exists (core/pdf.py).
    gate = tmp_path / "render-gate"
    held = tmp_path / "render-gate.held"
    gate.touch()
    settings.PDF_RENDER_TEST_GATE = str(gate)
    results, errors = [], []

    def issue():
        try:
            results.append(receipt_issue(application_id=application.pk).pk)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
            _wait_for(held)
            # Rendered, not stored: the row is not locked, another transaction takes it now.
            _lock_now(application)
            held.unlink()
    finally:
        gate.unlink()  # both have rendered (or the test failed): now both store
        for thread in threads:
            if thread.ident is not None:  # started
                thread.join(timeout=60)
    assert not errors
    assert len(results) == 2 and len(set(results)) == 1
    assert IssuedDocument.objects.filter(application=application).count() == 1
    assert AuditEvent.objects.filter(action="applications.receipt_issued").count() == 1
    assert (
        ApplicationEvent.objects.filter(application=application, kind="receipt_issued").count() == 1
    )
    assert Notification.objects.filter(user=resident).count() == notifications + 1
    # The losing run's PDF is removed: one file, the stored receipt's.
    (pdf_file,) = media.rglob("*.pdf")
    assert IssuedDocument.objects.get(application=application).pdf.path == str(pdf_file)


# --- What the PDF says -----------------------------------------------------------------


def test_the_receipt_shows_reference_procedure_and_answers_in_japanese(
    application, receipt, tmp_path
):
    text = _poppler("pdftotext", _pdf_bytes(receipt), tmp_path)
    assert "受付票" in text
    assert application.reference in text
    assert "児童手当認定請求" in text
    assert "山田 太郎" in text and "配偶者" in text  # group items
    assert receipt.verification_code in text
    assert "この受付票は電子署名されています" in text
    assert receipt.content_digest in text.replace("\n", "")


def test_the_japanese_font_is_embedded(receipt, tmp_path):
    fonts = _poppler("pdffonts", _pdf_bytes(receipt), tmp_path)
    ipaex = [line for line in fonts.splitlines() if "IPAex" in line]
    assert ipaex, fonts
    assert all(" yes " in line for line in ipaex), fonts  # the "emb" column


def test_the_individual_number_is_never_printed_in_clear(application, receipt, tmp_path):
    text = _poppler("pdftotext", _pdf_bytes(receipt), tmp_path)
    assert MY_NUMBER not in text.replace(" ", "")
    assert "********" + MY_NUMBER[-4:] in text
    assert MY_NUMBER not in str(receipt.content)


def test_attachments_are_counted_not_named(procedure, resident, tmp_path):
    from applications.services import attachment_add

    application = application_start(actor=resident, procedure=procedure)
    upload = SimpleUploadedFile(
        "給与明細_秘密.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n", "application/pdf"
    )
    attachment_add(actor=resident, application=application, field_key="certificate", upload=upload)
    application_save_step(
        actor=resident,
        application=application,
        step_key="applicant",
        answers={"full_name": "山田 花子", "my_number": MY_NUMBER},
    )
    application = application_submit(actor=resident, application=application, declaration=True)
    receipt = receipt_issue(application_id=application.pk)
    assert receipt.content["attachments"] == [{"label": "在職証明書", "count": 1}]
    text = _poppler("pdftotext", _pdf_bytes(receipt), tmp_path)
    assert "在職証明書" in text
    assert "給与明細" not in text


def test_proxy_filing_is_shown(procedure, resident, tmp_path):
    application = _submitted(
        procedure, resident, on_behalf_of_name="山田 ウメ", on_behalf_of_relationship="母"
    )
    receipt = receipt_issue(application_id=application.pk)
    text = _poppler("pdftotext", _pdf_bytes(receipt), tmp_path)
    assert "山田 ウメ" in text and "母" in text


# --- The renderer ----------------------------------------------------------------------


def test_the_font_is_loaded_once_per_process(receipt):
    first = pdf._fonts()
    pdf.render_pdf("pdf/receipt.html", {"content": receipt.content})
    assert pdf._fonts() is first


def test_the_document_stylesheet_is_parsed_once_per_process(receipt):
    first = pdf._document_stylesheet()
    pdf.render_pdf("pdf/receipt.html", {"content": receipt.content})
    assert pdf._document_stylesheet() is first


def test_the_cyclic_collector_is_paused_only_while_rendering(receipt, monkeypatch):
    # Paused during WeasyPrint's layout (B3), and on again after it, even when the
    # render fails: left off, the process would never collect its cycles again.
    from weasyprint import HTML

    seen = []

    def failing_write(self, *args, **kwargs):
        seen.append(gc.isenabled())
        raise RuntimeError("layout failed")

    assert gc.isenabled()
    pdf.render_pdf("pdf/receipt.html", {"content": receipt.content})
    assert gc.isenabled()
    monkeypatch.setattr(HTML, "write_pdf", failing_write)
    with pytest.raises(RuntimeError):
        pdf.render_pdf("pdf/receipt.html", {"content": receipt.content})
    assert seen == [False]
    assert gc.isenabled()


def test_the_receipt_embeds_the_japanese_font_once(receipt, tmp_path):
    # IPAex Gothic has no bold face: a bold heading would embed the font a second time.
    fonts = _poppler("pdffonts", _pdf_bytes(receipt), tmp_path)
    assert len([line for line in fonts.splitlines() if "IPAex" in line]) == 1, fonts


def test_the_qr_code_is_a_bitmap_of_one_pixel_per_module():
    url = "https://example.jp/verify/?code=ABCD-EFGH-JKMN-PQRS"
    header, data = pdf.qr_png_data_uri(url).split(",", 1)
    assert header == "data:image/png;base64"
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    symbol = segno.make(url, error="m", micro=False)
    assert image.size == symbol.symbol_size(scale=1, border=4)


def test_a_missing_font_is_a_clear_configuration_error(monkeypatch):
    with (
        override_settings(PDF_FONT_PATH="/nonexistent/font.ttf"),
        pytest.raises(ImproperlyConfigured, match="PDF_FONT_PATH"),
    ):
        pdf.font_path()
    monkeypatch.setattr(pdf, "DEFAULT_FONT_PATH", "/nonexistent/ipaexg.ttf")
    with pytest.raises(ImproperlyConfigured, match="fonts-ipaexfont-gothic"):
        pdf.font_path()


def test_documents_load_nothing_from_outside(tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not an image")
    # An image smuggled into a template is refused, not fetched.
    fetcher = pdf._fonts()[2]
    with pytest.raises(ValueError, match="may not load"):
        fetcher(secret.as_uri())
    with pytest.raises(ValueError, match="may not load"):
        fetcher("http://169.254.169.254/latest/meta-data/")
    assert pdf.qr_svg_data_uri("https://example.jp/verify/?code=X").startswith("data:image/svg+xml")


# --- Verifying -------------------------------------------------------------------------


def test_the_verification_code_finds_the_document(receipt):
    assert verify_code(receipt.verification_code) == receipt
    typed = receipt.verification_code.lower().replace("-", " ")
    assert verify_code(typed) == receipt
    full_width = receipt.verification_code.translate(
        {code: code + 0xFEE0 for code in range(0x21, 0x7F)}
    )
    assert verify_code(full_width) == receipt


def test_a_wrong_code_finds_nothing(receipt):
    wrong = ("2" if receipt.verification_code[0] != "2" else "3") + receipt.verification_code[1:]
    assert verify_code(wrong) is None
    assert verify_code("") is None
    assert verify_code("not a code") is None


def test_the_exact_pdf_verifies_and_a_changed_one_does_not(receipt):
    data = _pdf_bytes(receipt)
    assert verify_pdf(data) == receipt
    middle = len(data) // 2
    changed = data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]
    assert verify_pdf(changed) is None
    assert verify_pdf(data + b"\n") is None


def test_a_changed_database_row_does_not_verify(receipt):
    forged = b"%PDF-1.7 forged"
    IssuedDocument.objects.filter(pk=receipt.pk).update(
        pdf_digest=hashlib.sha256(forged).hexdigest()
    )
    assert verify_pdf(forged) is None  # the signature covers the PDF digest
    assert verify_code(receipt.verification_code) is None
    content = dict(receipt.content, reference="XXXX-XXXX-X")
    IssuedDocument.objects.filter(pk=receipt.pk).update(
        pdf_digest=receipt.pdf_digest, content=content
    )
    assert verify_code(receipt.verification_code) is None


# --- The page --------------------------------------------------------------------------


def test_the_verify_page_offers_both_ways_in_japanese(client):
    page = client.get("/verify/").content.decode()
    assert "書類の真正性の確認" in page
    assert 'name="code"' in page
    assert 'type="file"' in page and 'enctype="multipart/form-data"' in page


def test_the_verify_page_says_authentic_for_a_good_code(client, application, receipt):
    response = client.get("/verify/", {"code": receipt.verification_code})
    page = response.content.decode()
    assert response.status_code == 200
    assert "真正な書類です" in page
    assert "発行後に内容は変更されていません" in page
    assert application.reference in page
    assert "児童手当認定請求" in page
    assert "受付票" in page
    # Nothing about the applicant or the answers.
    for private in ("山田", MY_NUMBER, MY_NUMBER[-4:], "世帯員"):
        assert private not in page


def test_the_verify_page_says_not_authentic_for_a_wrong_code(client, receipt):
    wrong = ("2" if receipt.verification_code[0] != "2" else "3") + receipt.verification_code[1:]
    page = client.get("/verify/", {"code": wrong}).content.decode()
    assert "確認できませんでした" in page
    assert "真正な書類です" not in page


def test_the_verify_page_checks_an_uploaded_pdf(client, receipt):
    data = _pdf_bytes(receipt)
    good = client.post("/verify/", {"document": SimpleUploadedFile("r.pdf", data)})
    assert "真正な書類です" in good.content.decode()
    changed = data[:-10] + b"0000000000"
    bad = client.post("/verify/", {"document": SimpleUploadedFile("r.pdf", changed)})
    assert "確認できませんでした" in bad.content.decode()
    assert "真正な書類です" not in bad.content.decode()


def test_the_verify_page_refuses_what_is_not_a_pdf(client):
    client.cookies["lang"] = "en"
    response = client.post("/verify/", {"document": SimpleUploadedFile("r.pdf", b"GIF89a....")})
    page = response.content.decode()
    assert "This file is not a PDF." in page and "error-summary" in page
    assert 'id="id_document_error"' in page
    assert "Authentic" not in page


def test_the_verify_page_refuses_files_over_10_mb(client):
    client.cookies["lang"] = "en"
    big = b"%PDF-" + b"0" * (10 * 1024 * 1024)
    page = client.post("/verify/", {"document": SimpleUploadedFile("r.pdf", big)}).content.decode()
    assert "The file is larger than 10 MB." in page and "error-summary" in page


def test_a_mistyped_code_is_an_error_to_correct_not_a_verdict(client):
    client.cookies["lang"] = "en"
    page = client.get("/verify/", {"code": "ABCD-EFGH"}).content.decode()
    assert "Enter the 16-character code" in page and 'href="#id_code"' in page
    assert "Not authentic" not in page


def test_the_verify_page_is_in_english_when_asked(client, receipt):
    client.cookies["lang"] = "en"
    page = client.get("/verify/", {"code": receipt.verification_code}).content.decode()
    assert "Authentic" in page
    assert "Child allowance claim" in page
