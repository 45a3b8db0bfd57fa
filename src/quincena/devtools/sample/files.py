"""Writing a company's documents into the inbox in realistic envelopes, and the bad files that
exercise ingest's quarantine (each with the outcome ingest must give it)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from quincena.devtools.sample.documents import invoice, next_number, random_nit
from quincena.devtools.sample.model import Buyer, Context, Doc, Party
from quincena.devtools.sample.ubl import UBL_NS, attached_xml, document_xml, fake_pdf, xml_escape, zip_bytes

ATTACHED_SHARE = 0.75  # the rest are bare documents
ZIP_SHARE = 0.25
BAD_KINDS = (
    "malformed_xml",
    "not_dian",
    "wrong_customer",
    "xxe",
    "billion_laughs",
    "duplicate_cufe",
    "duplicate_bytes",
)
# What ingest must make of each bad file: (outcome, reason_code).
BAD_EXPECTED = {
    "malformed_xml": ("quarantined", "malformed_xml"),
    "not_dian": ("quarantined", "not_dian"),
    "wrong_customer": ("quarantined", "wrong_customer"),
    "xxe": ("quarantined", "hostile_xml"),
    "billion_laughs": ("quarantined", "hostile_xml"),
    "duplicate_cufe": ("duplicate", "duplicate"),  # same CUFE in another envelope: other bytes
    "duplicate_bytes": ("duplicate", "same_file"),  # same bytes as a good file, at another path
}


@dataclass
class Writer:
    inbox: Path
    company_nit: str
    files: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 0

    def write(self, folder: str, name: str, data: bytes, kind: str, outcome: str, code: str | None = None) -> str:
        directory = self.inbox / self.company_nit / folder
        directory.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(data)
        relative = f"{self.company_nit}/{folder}/{name}"
        self.files.append({"path": relative, "kind": kind, "expected_outcome": outcome, "reason_code": code})
        return relative

    def base_name(self, doc: Doc) -> str:
        self.seq += 1
        return f"{doc.supplier.party.nit:0>10}{doc.issue_date:%y}{self.seq:08x}"


_BARE_PREFIX = {"invoice": "fv", "credit_note": "nc", "debit_note": "nd"}


def write_document(writer: Writer, rng: random.Random, doc: Doc) -> tuple[str, bytes, bool]:
    """Write one good document in a realistic envelope; returns (path, bytes written, attached?)."""
    attached = rng.random() < ATTACHED_SHARE
    prefix = "ad" if attached else _BARE_PREFIX[doc.kind]
    xml = (attached_xml(doc) if attached else document_xml(doc)).encode("utf-8")
    base = writer.base_name(doc)
    folder = doc.issue_date.isoformat()
    if rng.random() < ZIP_SHARE:
        data = zip_bytes([(f"{prefix}{base}.xml", xml), (f"{prefix}{base}.pdf", fake_pdf(doc))], doc.issue_date)
        return writer.write(folder, f"z{base}.zip", data, "document", "ingested"), data, attached
    return writer.write(folder, f"{prefix}{base}.xml", xml, "document", "ingested"), xml, attached


_XXE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" {ns}>'
    "<cbc:ID>{number}</cbc:ID><cbc:Note>&xxe;</cbc:Note></Invoice>\n"
)
_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + ']>\n<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><cbc:Note '
    'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">&lol9;</cbc:Note></Invoice>\n'
)


def write_bad(kind: str, ctx: Context, writer: Writer, buyer: Buyer, suppliers, good, used) -> None:
    """One bad file of the given kind; ``good`` holds (doc, path, bytes, attached) of good files."""
    rng = ctx.rng
    outcome, code = BAD_EXPECTED[kind]
    supplier = rng.choice(suppliers)
    issue = ctx.start + timedelta(days=rng.randrange((ctx.end - ctx.start).days))
    folder = issue.isoformat()
    if kind == "malformed_xml":
        doc = invoice(ctx, supplier, buyer, issue)
        text = attached_xml(doc)
        data = text[: int(len(text) * rng.uniform(0.3, 0.8))].encode("utf-8")  # a cut-off download
        writer.write(folder, f"ad{writer.base_name(doc)}.xml", data, kind, outcome, code)
    elif kind == "not_dian":
        data = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<PedidoCompra xmlns="urn:erp-local:pedidos:1.0">'
            f"<Numero>OC-{rng.randint(1000, 9999)}</Numero><Proveedor>{xml_escape(supplier.party.name)}</Proveedor>"
            f"<Fecha>{issue.isoformat()}</Fecha><Total>{rng.randint(100000, 900000)}.00</Total></PedidoCompra>\n"
        ).encode()
        writer.write(folder, f"pedido-{rng.randint(10000, 99999)}.xml", data, kind, outcome, code)
    elif kind == "wrong_customer":
        nit, dv = random_nit(rng, used)
        other = Buyer(Party(nit, dv, "Otra Empresa Cliente S.A.S."), buyer.reteiva_agent, buyer.reteica_agent)
        doc = invoice(ctx, supplier, other, issue)
        writer.write(folder, f"ad{writer.base_name(doc)}.xml", attached_xml(doc).encode(), kind, outcome, code)
    elif kind == "xxe":
        data = _XXE.format(ns=UBL_NS, number=next_number(supplier)).encode()
        writer.write(folder, f"fv{rng.randint(10**7, 10**8)}.xml", data, kind, outcome, code)
    elif kind == "billion_laughs":
        writer.write(folder, f"fv{rng.randint(10**7, 10**8)}.xml", _LAUGHS.encode(), kind, outcome, code)
    elif kind == "duplicate_cufe":
        doc, _, _, attached = rng.choice([g for g in good if g[0].kind == "invoice"])
        data = (document_xml(doc) if attached else attached_xml(doc)).encode()  # other envelope: other bytes
        name = f"{'fv' if attached else 'ad'}{writer.base_name(doc)}.xml"
        writer.write("reenviados", name, data, kind, outcome, code)
    elif kind == "duplicate_bytes":
        _, path, data, _ = rng.choice(good)
        writer.write("reenviados", "copia-" + path.rsplit("/", 1)[-1], data, kind, outcome, code)


def bad_kinds(company_index: int, invoices: int) -> list[str]:
    """~2 % bad files (at least 3), rotating through the kinds so a few companies cover them all."""
    count = max(3, round(invoices * 0.02))
    return [BAD_KINDS[(company_index * 3 + j) % len(BAD_KINDS)] for j in range(count)]
