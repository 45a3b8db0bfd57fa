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

# What an accountant reads for each code (the review page, the cycle report); the stored reason stays the
# technical detail, in English like the logs.
REJECTION_ES = {
    "too_large": "archivo demasiado grande",
    "invalid_zip": "zip ilegible o no soportado",
    "malformed_xml": "XML mal formado",
    "hostile_xml": "XML peligroso (rechazado sin procesar su contenido)",
    "not_dian": "no es un documento electrónico de la DIAN",
    "unsupported_document": "tipo de documento no soportado",
    "missing_field": "falta un dato obligatorio o es ilegible",
    "wrong_customer": "la factura es de otro comprador",
    "no_documents": "no contiene documentos de la DIAN",
    "parser_error": "error inesperado al leer el archivo",
    "unsafe_path": "enlace que sale de la carpeta de la empresa",
    "not_a_file": "no es un archivo regular",
    "conflicting_duplicate": "CUFE ya recibido con otro contenido",
}


def rejection_es(code: str | None) -> str:
    """The Spanish label of a rejection code (the code itself if it has none)."""
    return REJECTION_ES.get(code or "", code or "rechazado")


class RejectedDocument(Exception):
    """A file or document we refuse, with a fixed ``code`` and a reason an accountant can read."""

    def __init__(self, code: str, reason: str) -> None:
        if code not in REJECTION_CODES:
            raise ValueError(f"unknown rejection code {code!r}")
        super().__init__(reason)
        self.code = code
        self.reason = reason
