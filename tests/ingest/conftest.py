"""An inbox for the sample company of tests/fixtures/dian_docs, registered in a clean database."""

from pathlib import Path

import pytest

from quincena.core import companies
from quincena.core.companies import Company
from tests.fixtures import dian_docs as d


@pytest.fixture
def inbox(clean_db: str, tmp_path: Path) -> Path:
    companies.upsert([Company(d.COMPANY_NIT, int(d.COMPANY_DV), "Ferretería El Tornillo S.A.S.")])
    root = tmp_path / "inbox"
    (root / d.COMPANY_NIT).mkdir(parents=True)
    return root
