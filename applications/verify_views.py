"""The public page where anyone holding a document we issued (the resident, a
bank, a landlord) checks that it is authentic: by its verification code (typed,
or from the QR code) or by uploading the PDF.

It tells only what the document itself identifies (kind, reference, procedure,
issue date), never the answers or anything else about the applicant.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from applications.documents import normalize_verification_code, verify_code, verify_pdf

MAX_PDF_BYTES = 10 * 1024 * 1024
PDF_MAGIC = b"%PDF-"


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Verification code"),
        help_text=gettext_lazy(
            "16 characters, printed next to the QR code, for example ABCD-EFGH-JKMN-PQRS."
        ),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_code(self) -> str:
        normalized = normalize_verification_code(self.cleaned_data["code"])
        if normalized is None:
            raise ValidationError(
                _("Enter the 16-character code, for example ABCD-EFGH-JKMN-PQRS.")
            )
        return normalized


class UploadForm(forms.Form):
    document = forms.FileField(
        label=gettext_lazy("PDF file"),
        help_text=gettext_lazy("The PDF exactly as you received it, up to 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )

    def clean_document(self):
        upload = self.cleaned_data["document"]
        if upload.size > MAX_PDF_BYTES:
            raise ValidationError(_("The file is larger than 10 MB."))
        upload.seek(0)
        if upload.read(len(PDF_MAGIC)) != PDF_MAGIC:
            raise ValidationError(_("This file is not a PDF."))
        upload.seek(0)
        return upload


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def verify_view(request: HttpRequest) -> HttpResponse:
    code_form = CodeForm(request.GET if "code" in request.GET else None)
    upload_form = UploadForm()
    checked, document = "", None
    if request.method == "POST":
        upload_form = UploadForm(request.POST, request.FILES)
        if upload_form.is_valid():
            checked = "file"
            document = verify_pdf(upload_form.cleaned_data["document"].read())
    elif code_form.is_bound and code_form.is_valid():
        checked = "code"
        document = verify_code(code_form.cleaned_data["code"])
    return render(
        request,
        "applications/verify.html",
        {
            "code_form": code_form,
            "upload_form": upload_form,
            "checked": checked,
            "document": document,
            "max_mb": MAX_PDF_BYTES // (1024 * 1024),
        },
    )
