"""When the file store cannot be reached (the disk, or the S3-compatible object
store of FILE_STORAGE=s3): what counts as that, and the one error people see.

Nothing is lost: an upload that could not be stored is refused with this message
and the draft keeps every answer; a document task whose store is down is retried
(the receipt and decision tasks retry on STORAGE_ERRORS, and the periodic sweep
issues what is still missing); a download says to try again."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.errors import DomainError

try:  # boto3 comes with django-storages[s3]; without it the store is the disk
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # pragma: no cover
    STORAGE_ERRORS: tuple[type[BaseException], ...] = (OSError,)
else:
    STORAGE_ERRORS = (OSError, BotoCoreError, ClientError)


class StorageUnavailable(DomainError):
    code = "storage_unavailable"
    http_status = 503
    default_message = _(
        "Files cannot be stored or read at the moment. Nothing you entered is lost: "
        "please try again in a few minutes."
    )
