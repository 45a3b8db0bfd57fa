"""Colombian NIT (tax id) and its DIAN check digit (DV)."""

from __future__ import annotations

import re

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


def parse_nit(text: str, dv: str | int | None = None) -> tuple[str, int]:
    """Normalize '900.123.456-7' (or '900123456' with dv given) to ('900123456', 7).

    The check digit is verified when present and computed when absent.
    """
    raw = str(text).strip()
    match = re.fullmatch(r"([0-9][0-9.\s]*?)(?:\s*-\s*([0-9]))?", raw)
    if not match:
        raise InvalidNit(f"not a NIT: {raw!r}")
    digits = re.sub(r"[.\s]", "", match.group(1))
    given = match.group(2) if match.group(2) is not None else (str(dv).strip() if dv not in (None, "") else None)
    expected = check_digit(digits)
    if given is not None and int(given) != expected:
        raise InvalidNit(f"NIT {digits}: check digit {given} is wrong (DIAN's is {expected})")
    return digits, expected
