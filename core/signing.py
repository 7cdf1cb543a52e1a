"""The platform's Ed25519 signature over documents it issues (filings, receipts,
decisions), and field encryption for values that must never be stored in clear
(the Individual Number). Keys come from settings; see docs/operations.md."""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder

from core import secret_files


def canonical_json(document: Any) -> bytes:
    """RFC 8785 canonical JSON: the same document always gives the same bytes."""
    return rfc8785.dumps(json.loads(json.dumps(document, cls=DjangoJSONEncoder)))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _new_private_key_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@cache
def _private_key() -> Ed25519PrivateKey:
    path = Path(settings.SIGNING_KEY_PATH)
    if not path.exists() and not settings.SIGNING_KEY_AUTOCREATE:
        raise ImproperlyConfigured(f"The signing key {path} does not exist.")
    pem = secret_files.read_or_create(path, _new_private_key_pem)
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"The signing key {path} is not an Ed25519 key.")
    return key


def public_key() -> Ed25519PublicKey:
    return _private_key().public_key()


def public_key_pem() -> str:
    return (
        public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def sign_digest(digest_hex: str) -> str:
    """Signature (base64) over the SHA-256 digest of a canonical document."""
    return base64.b64encode(_private_key().sign(bytes.fromhex(digest_hex))).decode("ascii")


def verify_digest(digest_hex: str, signature_b64: str) -> bool:
    try:
        public_key().verify(base64.b64decode(signature_b64), bytes.fromhex(digest_hex))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@cache
def _fernet() -> Fernet:
    secret = settings.FIELD_ENCRYPTION_KEY or settings.SECRET_KEY
    # Any secret string becomes a valid Fernet key by hashing it to 32 bytes.
    key = base64.urlsafe_b64encode(hashlib.sha256(f"field-encryption:{secret}".encode()).digest())
    return Fernet(key)


def encrypt_text(value: str) -> str:
    return _fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt_text(token: str) -> str | None:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return None
