"""Text from invoices, the registry or a person placed in Markdown (Airflow's HITL request body)."""

from __future__ import annotations

import re
import string

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_BREAKS = re.compile(r"[\r\n\t\f\v\u2028\u2029]+")


def escape(text: object) -> str:
    """``text`` shown literally in Markdown: every ASCII punctuation backslash-escaped (CommonMark allows
    it for each), so a company name cannot become a link, an image fetched from afar, raw HTML or
    emphasis; line breaks folded to one space, so it cannot start a heading or a list either."""
    flat = _BREAKS.sub(" ", "" if text is None else str(text))
    return _PUNCTUATION.sub(r"\\\1", flat)
