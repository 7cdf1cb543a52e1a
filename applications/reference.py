"""Human-friendly reference numbers: eight characters from an alphabet without
look-alikes (no 0/O or 1/I/L), then a check character, e.g. "K7QM-4XT9-R".
The check character catches any single mistyped character and any swap of two
neighbours, because the alphabet's size (31) is prime."""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
MODULUS = len(ALPHABET)  # 31, a prime


def _check_character(body: str) -> str:
    total = sum((index + 1) * ALPHABET.index(char) for index, char in enumerate(body))
    return ALPHABET[total % MODULUS]


def new_reference() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{body[:4]}-{body[4:]}-{_check_character(body)}"
