import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from applications.models import Application, Attachment
from applications.uploads import safe_name
from tests.factories import PASSWORD, UserFactory, publish_procedure

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"

DEFINITION = {
    "form": {
        "steps": [
            {
                "key": "documents",
                "title": {"ja": "書類", "en": "Documents"},
                "fields": [
                    {
                        "key": "floor_plan",
                        "type": "file",
                        "label": {"ja": "平面図", "en": "Floor plan"},
                        "required": True,
                        "accept": ["pdf", "png"],
                        "max_size_mb": 1,
                        "max_files": 2,
                    }
                ],
            }
        ]
    },
    "fee": {"kind": "none"},
    "workflow": {"approval": "single"},
    "delivery": {"methods": ["electronic"]},
}


@pytest.fixture
def application(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    publish_procedure(
        code="permit",
        definition=DEFINITION,
        title_ja="許可申請",
        category="business",
        filer="business",
        processing_days=10,
    )
    user = UserFactory(preferred_language="en")
    client.post("/accounts/login/", {"email": user.email, "password": PASSWORD})
    client.post("/applications/start/permit/")
    return Application.objects.get(applicant=user)


def _upload(client, application, name, content, **extra):
    return client.post(
        f"/applications/{application.pk}/steps/documents/",
        {"f.floor_plan": SimpleUploadedFile(name, content), "upload_only": "1", **extra},
    )


def test_an_uploaded_pdf_is_kept_with_its_digest_and_answers_the_field(client, application):
    response = _upload(client, application, "plan.pdf", PDF)
    assert response.status_code == 200
    attachment = Attachment.objects.get(application=application)
    import hashlib

    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    assert attachment.file.name.startswith("attachments/") and "plan" not in attachment.file.name
    application.refresh_from_db()
    assert application.answers["floor_plan"] == [attachment.public_id]
    # The step is now complete and the filing carries the file's digest.
    done = client.post(f"/applications/{application.pk}/steps/documents/", {})
    assert done["Location"] == f"/applications/{application.pk}/check/"
    client.post(done["Location"], {"declaration": "on"})
    application.refresh_from_db()
    assert application.status == "submitted"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("plan.pdf", PNG_HEADER + b"\x00" * 20, "not really a PDF file"),
        ("plan.exe", b"MZ" + b"\x00" * 50, "not an accepted type"),
        ("plan.pdf", b"", "is empty"),
        ("plan.pdf", PDF + b"\x00" * (1024 * 1024), "larger than 1 MB"),
        (
            "huge.png",
            PNG_HEADER + (100_000).to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00\x00",
            "pixels",
        ),
    ],
)
def test_a_bad_upload_is_refused_with_a_clear_message(client, application, name, content, message):
    response = _upload(client, application, name, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Attachment.objects.exists()


def test_file_names_cannot_escape_or_smuggle_paths():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("..\\..\\windows\\system32\\evil.pdf") == "evil.pdf"
    assert safe_name("\x00\x1fplan.pdf") == "plan.pdf"
    assert safe_name(".htaccess") == "htaccess"
    assert len(safe_name("a" * 300 + ".pdf")) <= 120


def test_only_the_owner_downloads_an_attachment_and_never_inline(client, application):
    _upload(client, application, "plan.pdf", PDF)
    attachment = Attachment.objects.get()
    url = f"/applications/{application.pk}/attachments/{attachment.public_id}/"
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == PDF

    other = UserFactory()
    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"email": other.email, "password": PASSWORD})
    assert client.get(url).status_code == 404


def test_a_removed_file_no_longer_answers_the_field(client, application):
    _upload(client, application, "plan.pdf", PDF)
    attachment = Attachment.objects.get()
    client.post(
        f"/applications/{application.pk}/steps/documents/", {"remove_file": attachment.public_id}
    )
    application.refresh_from_db()
    assert "floor_plan" not in application.answers
    assert not Attachment.objects.exists()


def _fake_clamd(path, reply: bytes):
    """A one-connection stand-in for clamd's INSTREAM protocol on a Unix socket."""
    import socket
    import threading

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def serve():
        connection, _address = server.accept()
        with connection:
            received = b""
            while not received.endswith(b"\x00\x00\x00\x00"):
                chunk = connection.recv(65536)
                if not chunk:
                    break
                received += chunk
            connection.sendall(reply)
        server.close()

    threading.Thread(target=serve, daemon=True).start()


@pytest.mark.parametrize(
    ("reply", "kept", "message"),
    [
        (b"stream: OK\x00", True, ""),
        (b"stream: Eicar-Test-Signature FOUND\x00", False, "contains a virus"),
        (b"INSTREAM size limit exceeded. ERROR\x00", False, "could not be checked"),
    ],
)
def test_uploads_are_scanned_when_a_scanner_is_configured(
    client, application, settings, tmp_path, reply, kept, message
):
    settings.CLAMAV_SOCKET = str(tmp_path / "clamd.sock")
    _fake_clamd(tmp_path / "clamd.sock", reply)
    response = _upload(client, application, "plan.pdf", PDF)
    assert Attachment.objects.exists() == kept
    if message:
        assert message in response.content.decode()
    else:
        assert Attachment.objects.get().scan_result == "clean"


def test_an_unreachable_scanner_refuses_the_file_instead_of_failing(
    client, application, settings, tmp_path
):
    settings.CLAMAV_SOCKET = str(tmp_path / "nobody-listens.sock")
    response = _upload(client, application, "plan.pdf", PDF)
    assert response.status_code == 400
    assert "could not be checked" in response.content.decode()
    assert not Attachment.objects.exists()
