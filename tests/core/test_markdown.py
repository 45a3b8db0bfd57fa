"""Registry and supplier text in a HITL body (Markdown) is shown literally, rendered by a real CommonMark parser."""

from __future__ import annotations

from markdown_it import MarkdownIt

from quincena.core.markdown import escape

HOSTILE = [
    "Tornillos ![pixel](https://evil.example/p.png?nit=900373115)",
    "<img src=https://evil.example/p.png> S.A.S.",
    "[Aprobar aquí](https://evil.example/phish)",
    "**URGENTE** _apruebe_ `ya`",
    "Ferretería\n# Todo aprobado\n- sin soportes",
    "A & B | C \\ D",
]


def test_hostile_names_render_as_their_own_text() -> None:
    markdown = MarkdownIt("commonmark").enable("table")
    for text in HOSTILE:
        html = markdown.render(f"Empresa: {escape(text)}")
        for tag in ("<img", "<a ", "<strong", "<em", "<code", "<h1", "<li", "<table"):
            assert tag not in html, (text, html)
        assert html.count("<p>") == 1  # one paragraph: no heading or list smuggled in by a line break
    assert escape("Ferretería El Tornillo S.A.S.") == "Ferretería El Tornillo S\\.A\\.S\\."
    assert escape(None) == ""
