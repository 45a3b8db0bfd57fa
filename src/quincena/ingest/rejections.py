"""Why a file or document is refused: fixed codes (stored in ingested_files.reason_code) and a readable reason."""

from __future__ import annotations

REJECTION_CODES = frozenset(
    {
        "too_large",
        "invalid_zip",
        "malformed_xml",
        "hostile_xml",
        "not_dian",
        "unsupported_document",
        "missing_field",  # a required field is absent or unreadable (not a number, not a date)
        "wrong_customer",
        "no_documents",
        "parser_error",  # the parser failed in a way it did not foresee (exception class in the reason)
        "unsafe_path",  # a symbolic link leading outside the company's inbox
        "not_a_file",  # a FIFO, device, socket or dangling link named like a document: never opened
        "conflicting_duplicate",  # a CUFE already stored, from another file, with different content
    }
)


class RejectedDocument(Exception):
    """A file or document we refuse, with a fixed ``code`` and a reason an accountant can read."""

    def __init__(self, code: str, reason: str) -> None:
        if code not in REJECTION_CODES:
            raise ValueError(f"unknown rejection code {code!r}")
        super().__init__(reason)
        self.code = code
        self.reason = reason
