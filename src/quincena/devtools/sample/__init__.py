"""Realistic sample data: N companies × M DIAN purchase documents as real UBL 2.1 files in an inbox.

Each company has ~20 recurring suppliers whose line descriptions repeat (what supplier memory
learns from), plus occasional one-off suppliers. Documents are mostly AttachedDocuments wrapping
an Invoice, some bare Invoices, ~3 % credit notes and a few debit notes; some files are zips
holding the XML and a PDF. A handful of bad files per company exercise the quarantine.

The concept table (description → expected PUC sub-account) is include/sample/concepts.json. Beside
the inbox (``<inbox>-sample/``, so the inbox holds only what suppliers sent) the generator writes
``companies.csv`` and ``manifest.json``: every file's expected ingest outcome and every line's
expected account, for tests and benchmarks.

Modules: ``concepts`` (the concept table), ``model`` (the dataclasses), ``documents`` (companies,
suppliers, lines, amounts, notes), ``ubl`` (the UBL/XML writer, CUFE, zip, PDF), ``files`` (envelopes
and bad files in the inbox), ``generator`` (``generate`` and the manifest).
"""

from quincena.devtools.sample.concepts import Concept, ItemSpec, expected_account_by_description, load_concepts
from quincena.devtools.sample.files import BAD_EXPECTED, BAD_KINDS
from quincena.devtools.sample.generator import MANIFEST, generate, read_manifest, resolve_period, sample_dir
from quincena.devtools.sample.model import TAXES
from quincena.devtools.sample.ubl import UBL_NS, attached_xml, document_xml

__all__ = [
    "BAD_EXPECTED",
    "BAD_KINDS",
    "MANIFEST",
    "TAXES",
    "UBL_NS",
    "Concept",
    "ItemSpec",
    "attached_xml",
    "document_xml",
    "expected_account_by_description",
    "generate",
    "load_concepts",
    "read_manifest",
    "resolve_period",
    "sample_dir",
]
