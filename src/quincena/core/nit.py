"""Colombian NIT (tax id) and its DIAN check digit (DV)."""

from __future__ import annotations

_WEIGHTS = (3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71)


class InvalidNit(ValueError):
    pass


def check_digit(nit: str) -> int:
    """DIAN's modulo-11 check digit of a NIT given as digits."""
    if not nit.isdigit() or len(nit) > len(_WEIGHTS):
        raise InvalidNit(f"NIT must be 1-{len(_WEIGHTS)} digits, got {nit!r}")
    total = sum(int(d) * w for d, w in zip(reversed(nit), _WEIGHTS, strict=False))
    remainder = total % 11
    return remainder if remainder in (0, 1) else 11 - remainder


_ASCII_DIGITS = frozenset("0123456789")
_SEPARATORS = frozenset(". \t\r\n\f\v")


def split_nit(text: str) -> tuple[str, str | None] | None:
    """'900.123.456-7' -> ('900123456', '7'); '900 123 456' -> ('900123456', None); None when not a NIT.

    One pass over the text (no backtracking regex): a hostile value costs no more than a normal one.
    Dots and whitespace may separate digit groups; an optional '-D' suffix is the check digit.
    """
    raw = text.strip()
    body, dash, suffix = raw.rpartition("-")
    if dash:
        suffix = suffix.strip()
        if len(suffix) != 1 or suffix not in _ASCII_DIGITS:
            return None
    else:
        body, suffix = raw, None
    body = body.rstrip()
    if not body or body[0] not in _ASCII_DIGITS:
        return None
    digits = []
    for char in body:
        if char in _ASCII_DIGITS:
            digits.append(char)
        elif char not in _SEPARATORS:
            return None
    return "".join(digits), suffix


def parse_nit(text: str, dv: str | int | None = None) -> tuple[str, int]:
    """Normalize '900.123.456-7' (or '900123456' with dv given) to ('900123456', 7).

    The check digit is verified when present and computed when absent.
    """
    raw = str(text).strip()
    parts = split_nit(raw)
    if parts is None:
        raise InvalidNit(f"not a NIT: {raw[:40]!r}")
    digits, suffix = parts
    given = suffix if suffix is not None else (str(dv).strip() if dv not in (None, "") else None)
    if given is not None and (len(given) != 1 or given not in _ASCII_DIGITS):
        raise InvalidNit(f"NIT {digits}: check digit {given[:10]!r} is not a digit")
    expected = check_digit(digits)
    if given is not None and int(given) != expected:
        raise InvalidNit(f"NIT {digits}: check digit {given} is wrong (DIAN's is {expected})")
    return digits, expected
