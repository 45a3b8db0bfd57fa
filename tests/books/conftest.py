"""Fixtures of the books tests."""

from pathlib import Path

import pytest

from tests.books.export_case import post_case


@pytest.fixture
def posted(clean_db: str, tmp_path: Path) -> None:
    """The export case (tests/books/export_case.py) in a clean database."""
    post_case(tmp_path)
