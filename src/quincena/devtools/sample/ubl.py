"""The UBL 2.1 writer: DIAN Invoice / CreditNote / DebitNote XML, the AttachedDocument envelope with its
ApplicationResponse, the CUFE/CUDE, and the zip and PDF a supplier's e-mail carries."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from xml.sax.saxutils import escape

from quincena.devtools.sample.model import CENT, TAXES, ZERO, Doc, Line, Party, Tax

UBL_NS = (
    'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
    'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2" '
    'xmlns:ext="urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2" '
    'xmlns:sts="dian:gov:co:facturaelectronica:Structures-2-1"'
)


def cufe(doc: Doc, technical_key: str) -> str:
    """SHA-384 over the key fields, in the order of DIAN's CUFE/CUDE formula."""
    taxes = {t.scheme_id: sum((x.amount for x in doc.taxes if x.scheme_id == t.scheme_id), ZERO) for t in doc.taxes}
    parts = [
        doc.number,
        doc.issue_date.isoformat(),
        doc.issue_time,
        f"{doc.line_extension:.2f}",
        "01",
        f"{taxes.get('01', ZERO):.2f}",
        "04",
        f"{taxes.get('04', ZERO):.2f}",
        "03",
        f"{taxes.get('03', ZERO):.2f}",
        f"{doc.payable:.2f}",
        doc.supplier.party.nit,
        doc.customer.nit,
        technical_key,
        "1",
    ]
    return hashlib.sha384("".join(parts).encode()).hexdigest()


def xml_escape(value: object) -> str:
    return escape(str(value))


def _party_xml(role: str, party: Party, with_address: bool = True) -> str:
    address = (
        "<cac:PhysicalLocation><cac:Address><cbc:ID>11001</cbc:ID><cbc:CityName>Bogotá, D.C.</cbc:CityName>"
        "<cbc:CountrySubentity>Bogotá</cbc:CountrySubentity><cbc:CountrySubentityCode>11</cbc:CountrySubentityCode>"
        "<cac:Country><cbc:IdentificationCode>CO</cbc:IdentificationCode></cac:Country></cac:Address>"
        "</cac:PhysicalLocation>"
        if with_address
        else ""
    )
    company_id = (
        f'<cbc:CompanyID schemeAgencyID="195" schemeAgencyName="CO, DIAN (Dirección de Impuestos y Aduanas '
        f'Nacionales)" schemeID="{party.dv}" schemeName="31">{party.nit}</cbc:CompanyID>'
    )
    return (
        f"<cac:{role}><cbc:AdditionalAccountID>{party.person_type}</cbc:AdditionalAccountID><cac:Party>"
        f"<cac:PartyName><cbc:Name>{xml_escape(party.name)}</cbc:Name></cac:PartyName>{address}"
        f"<cac:PartyTaxScheme><cbc:RegistrationName>{xml_escape(party.name)}</cbc:RegistrationName>{company_id}"
        f'<cbc:TaxLevelCode listName="48">{";".join(party.tax_levels)}</cbc:TaxLevelCode>'
        "<cac:TaxScheme><cbc:ID>01</cbc:ID><cbc:Name>IVA</cbc:Name></cac:TaxScheme></cac:PartyTaxScheme>"
        f"<cac:PartyLegalEntity><cbc:RegistrationName>{xml_escape(party.name)}</cbc:RegistrationName>{company_id}"
        f"</cac:PartyLegalEntity></cac:Party></cac:{role}>"
    )


def _percent(value: Decimal) -> str:
    """Two decimals, or more when the rate has them (ReteICA 9.66 per mil is 0.966 %)."""
    return f"{value:.2f}" if value == value.quantize(CENT) else str(value.normalize())


def _tax_total_xml(tag: str, taxes: list[Tax]) -> str:
    out = []
    for scheme in dict.fromkeys(t.scheme_id for t in taxes):
        subs = [t for t in taxes if t.scheme_id == scheme]
        total = sum((t.amount for t in subs), ZERO)
        body = "".join(
            f'<cac:TaxSubtotal><cbc:TaxableAmount currencyID="COP">{t.taxable:.2f}</cbc:TaxableAmount>'
            f'<cbc:TaxAmount currencyID="COP">{t.amount:.2f}</cbc:TaxAmount><cac:TaxCategory>'
            f"<cbc:Percent>{_percent(t.percent)}</cbc:Percent><cac:TaxScheme><cbc:ID>{t.scheme_id}</cbc:ID>"
            f"<cbc:Name>{t.scheme_name}</cbc:Name></cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal>"
            for t in subs
        )
        out.append(f'<cac:{tag}><cbc:TaxAmount currencyID="COP">{total:.2f}</cbc:TaxAmount>{body}</cac:{tag}>')
    return "".join(out)


def _line_xml(doc: Doc, index: int, line: Line) -> str:
    tag, qty_tag = {
        "invoice": ("InvoiceLine", "InvoicedQuantity"),
        "credit_note": ("CreditNoteLine", "CreditedQuantity"),
        "debit_note": ("DebitNoteLine", "DebitedQuantity"),
    }[doc.kind]
    quantity = f"{line.quantity:.{max(line.quantity_decimals, 2)}f}"
    taxes = (
        _tax_total_xml("TaxTotal", [Tax(*TAXES[line.tax][:2], line.total, line.tax_amount, TAXES[line.tax][2])])
        if line.tax in TAXES
        else ""
    )
    return (
        f'<cac:{tag}><cbc:ID>{index}</cbc:ID><cbc:{qty_tag} unitCode="{line.unit}">{quantity}</cbc:{qty_tag}>'
        f'<cbc:LineExtensionAmount currencyID="COP">{line.total:.2f}</cbc:LineExtensionAmount>{taxes}'
        f"<cac:Item><cbc:Description>{xml_escape(line.description)}</cbc:Description>"
        f"<cac:SellersItemIdentification><cbc:ID>{line.code}</cbc:ID></cac:SellersItemIdentification>"
        f'<cac:StandardItemIdentification><cbc:ID schemeID="999">{line.code}</cbc:ID>'
        "</cac:StandardItemIdentification></cac:Item>"
        f'<cac:Price><cbc:PriceAmount currencyID="COP">{line.price:.2f}</cbc:PriceAmount>'
        f'<cbc:BaseQuantity unitCode="{line.unit}">1.00</cbc:BaseQuantity></cac:Price></cac:{tag}>'
    )


ROOTS = {
    "invoice": ("Invoice", "10", "CUFE-SHA384", "InvoiceTypeCode", "01", "LegalMonetaryTotal"),
    "credit_note": ("CreditNote", "20", "CUDE-SHA384", "CreditNoteTypeCode", "91", "LegalMonetaryTotal"),
    "debit_note": ("DebitNote", "30", "CUDE-SHA384", "DebitNoteTypeCode", "92", "RequestedMonetaryTotal"),
}


def document_xml(doc: Doc) -> str:
    """The UBL 2.1 Invoice / CreditNote / DebitNote as DIAN's Anexo Técnico 1.9 shapes it."""
    root, customization, scheme, type_tag, type_code, totals_tag = ROOTS[doc.kind]
    due = doc.issue_date + timedelta(days=30)
    reference = ""
    if doc.reference is not None:
        ref = doc.reference
        response = (
            "<cac:DiscrepancyResponse><cbc:ReferenceID>{n}</cbc:ReferenceID><cbc:ResponseCode>{c}</cbc:ResponseCode>"
            "<cbc:Description>{d}</cbc:Description></cac:DiscrepancyResponse>"
        ).format(
            n=ref.number,
            c="2" if doc.kind == "credit_note" else "3",
            d="Devolución parcial de los bienes" if doc.kind == "credit_note" else "Cambio del valor",
        )
        reference = (
            f"{response}<cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>{ref.number}</cbc:ID>"
            f'<cbc:UUID schemeName="CUFE-SHA384">{ref.cufe}</cbc:UUID>'
            f"<cbc:IssueDate>{ref.issue_date.isoformat()}</cbc:IssueDate></cac:InvoiceDocumentReference>"
            "</cac:BillingReference>"
        )
    payment = (
        f"<cac:PaymentMeans><cbc:ID>2</cbc:ID><cbc:PaymentMeansCode>42</cbc:PaymentMeansCode>"
        f"<cbc:PaymentDueDate>{due.isoformat()}</cbc:PaymentDueDate></cac:PaymentMeans>"
    )
    due_xml = f"<cbc:DueDate>{due.isoformat()}</cbc:DueDate>" if doc.kind == "invoice" else ""
    totals = (
        f"<cac:{totals_tag}>"
        f'<cbc:LineExtensionAmount currencyID="COP">{doc.line_extension:.2f}</cbc:LineExtensionAmount>'
        f'<cbc:TaxExclusiveAmount currencyID="COP">{doc.tax_exclusive:.2f}</cbc:TaxExclusiveAmount>'
        f'<cbc:TaxInclusiveAmount currencyID="COP">{doc.tax_inclusive:.2f}</cbc:TaxInclusiveAmount>'
        '<cbc:AllowanceTotalAmount currencyID="COP">0.00</cbc:AllowanceTotalAmount>'
        '<cbc:ChargeTotalAmount currencyID="COP">0.00</cbc:ChargeTotalAmount>'
        f'<cbc:PrepaidAmount currencyID="COP">{doc.prepaid:.2f}</cbc:PrepaidAmount>'
        f'<cbc:PayableAmount currencyID="COP">{doc.payable:.2f}</cbc:PayableAmount></cac:{totals_tag}>'
    )
    lines = "".join(_line_xml(doc, i, line) for i, line in enumerate(doc.lines, start=1))
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
        f'<{root} xmlns="urn:oasis:names:specification:ubl:schema:xsd:{root}-2" {UBL_NS}>'
        f"{_extensions(doc)}"
        "<cbc:UBLVersionID>UBL 2.1</cbc:UBLVersionID>"
        f"<cbc:CustomizationID>{customization}</cbc:CustomizationID>"
        "<cbc:ProfileID>DIAN 2.1: Factura Electrónica de Venta</cbc:ProfileID>"
        "<cbc:ProfileExecutionID>1</cbc:ProfileExecutionID>"
        f"<cbc:ID>{doc.number}</cbc:ID>"
        f'<cbc:UUID schemeID="1" schemeName="{scheme}">{doc.cufe}</cbc:UUID>'
        f"<cbc:IssueDate>{doc.issue_date.isoformat()}</cbc:IssueDate><cbc:IssueTime>{doc.issue_time}</cbc:IssueTime>"
        f"{due_xml}<cbc:{type_tag}>{type_code}</cbc:{type_tag}>"
        "<cbc:DocumentCurrencyCode>COP</cbc:DocumentCurrencyCode>"
        f"<cbc:LineCountNumeric>{len(doc.lines)}</cbc:LineCountNumeric>{reference}"
        f"{_party_xml('AccountingSupplierParty', doc.supplier.party)}"
        f"{_party_xml('AccountingCustomerParty', doc.customer)}{payment}"
        f"{_tax_total_xml('TaxTotal', doc.taxes)}{_tax_total_xml('WithholdingTaxTotal', doc.withholdings)}"
        f"{totals}{lines}</{root}>"
    )


def _extensions(doc: Doc) -> str:
    return (
        "<ext:UBLExtensions><ext:UBLExtension><ext:ExtensionContent><sts:DianExtensions>"
        '<sts:InvoiceSource><cbc:IdentificationCode listAgencyID="6" listAgencyName="United Nations Economic '
        'Commission for Europe" '
        'listSchemeURI="urn:oasis:names:specification:ubl:codelist:gc:CountryIdentificationCode-2.1">'
        "CO</cbc:IdentificationCode></sts:InvoiceSource>"
        f'<sts:SoftwareProvider><sts:ProviderID schemeAgencyID="195" schemeID="{doc.supplier.party.dv}" '
        f'schemeName="31">{doc.supplier.party.nit}</sts:ProviderID><sts:SoftwareID>quincena-sample</sts:SoftwareID>'
        "</sts:SoftwareProvider>"
        f"<sts:QRCode>NumFac: {doc.number} FecFac: {doc.issue_date.isoformat()} NitFac: {doc.supplier.party.nit} "
        f"DocAdq: {doc.customer.nit} ValTolFac: {doc.payable:.2f} CUFE: {doc.cufe} "
        f"https://catalogo-vpfe.dian.gov.co/document/searchqr?documentkey={doc.cufe}</sts:QRCode>"
        "</sts:DianExtensions></ext:ExtensionContent></ext:UBLExtension></ext:UBLExtensions>"
    )


def _application_response(doc: Doc) -> str:
    """A fake but well-formed DIAN validation receipt (ResponseCode 02 = accepted)."""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
        f'<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2" {UBL_NS}>'
        "<cbc:UBLVersionID>UBL 2.1</cbc:UBLVersionID><cbc:CustomizationID>1</cbc:CustomizationID>"
        "<cbc:ProfileID>DIAN 2.1</cbc:ProfileID><cbc:ProfileExecutionID>1</cbc:ProfileExecutionID>"
        f"<cbc:ID>{int(doc.cufe[:12], 16)}</cbc:ID>"
        f'<cbc:UUID schemeName="CUDE-SHA384">{hashlib.sha384(doc.cufe.encode()).hexdigest()}</cbc:UUID>'
        f"<cbc:IssueDate>{doc.issue_date.isoformat()}</cbc:IssueDate><cbc:IssueTime>{doc.issue_time}</cbc:IssueTime>"
        "<cac:SenderParty><cac:PartyTaxScheme><cbc:RegistrationName>Unidad Especial Dirección de Impuestos y "
        'Aduanas Nacionales</cbc:RegistrationName><cbc:CompanyID schemeID="4" schemeName="31">800197268'
        "</cbc:CompanyID><cac:TaxScheme><cbc:ID>01</cbc:ID><cbc:Name>IVA</cbc:Name></cac:TaxScheme>"
        "</cac:PartyTaxScheme></cac:SenderParty>"
        "<cac:DocumentResponse><cac:Response><cbc:ResponseCode>02</cbc:ResponseCode>"
        "<cbc:Description>Documento validado por la DIAN</cbc:Description></cac:Response>"
        f"<cac:DocumentReference><cbc:ID>{doc.number}</cbc:ID>"
        f'<cbc:UUID schemeName="{ROOTS[doc.kind][2]}">{doc.cufe}</cbc:UUID></cac:DocumentReference>'
        "</cac:DocumentResponse></ApplicationResponse>"
    )


def attached_xml(doc: Doc, inner: str | None = None) -> str:
    """The AttachedDocument container a buyer receives by e-mail, the document in CDATA."""
    inner = document_xml(doc) if inner is None else inner
    supplier, customer = doc.supplier.party, doc.customer

    def tax_party(tag: str, party: Party) -> str:
        return (
            f"<cac:{tag}><cac:PartyTaxScheme><cbc:RegistrationName>{xml_escape(party.name)}</cbc:RegistrationName>"
            f'<cbc:CompanyID schemeAgencyID="195" schemeID="{party.dv}" schemeName="31">{party.nit}</cbc:CompanyID>'
            f"<cbc:TaxLevelCode>{';'.join(party.tax_levels)}</cbc:TaxLevelCode><cac:TaxScheme><cbc:ID>01</cbc:ID>"
            "<cbc:Name>IVA</cbc:Name>"
            f"</cac:TaxScheme></cac:PartyTaxScheme></cac:{tag}>"
        )

    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
        f'<AttachedDocument xmlns="urn:oasis:names:specification:ubl:schema:xsd:AttachedDocument-2" {UBL_NS}>'
        "<cbc:UBLVersionID>UBL 2.1</cbc:UBLVersionID><cbc:CustomizationID>Documentos adjuntos</cbc:CustomizationID>"
        "<cbc:ProfileID>Factura Electrónica de Venta</cbc:ProfileID><cbc:ProfileExecutionID>1</cbc:ProfileExecutionID>"
        f"<cbc:ID>{doc.number}</cbc:ID><cbc:IssueDate>{doc.issue_date.isoformat()}</cbc:IssueDate>"
        f"<cbc:IssueTime>{doc.issue_time}</cbc:IssueTime>"
        "<cbc:DocumentType>Contenedor de Factura Electrónica</cbc:DocumentType>"
        f"<cbc:ParentDocumentID>{doc.number}</cbc:ParentDocumentID>"
        f"{tax_party('SenderParty', supplier)}{tax_party('ReceiverParty', customer)}"
        "<cac:Attachment><cac:ExternalReference><cbc:MimeCode>text/xml</cbc:MimeCode>"
        f"<cbc:EncodingCode>UTF-8</cbc:EncodingCode><cbc:Description><![CDATA[{inner}]]></cbc:Description>"
        "</cac:ExternalReference></cac:Attachment>"
        "<cac:ParentDocumentLineReference><cbc:LineID>1</cbc:LineID><cac:DocumentReference>"
        f'<cbc:ID>{doc.number}</cbc:ID><cbc:UUID schemeName="{ROOTS[doc.kind][2]}">{doc.cufe}</cbc:UUID>'
        f"<cbc:IssueDate>{doc.issue_date.isoformat()}</cbc:IssueDate>"
        "<cbc:DocumentType>ApplicationResponse</cbc:DocumentType><cac:Attachment><cac:ExternalReference>"
        "<cbc:MimeCode>text/xml</cbc:MimeCode><cbc:EncodingCode>UTF-8</cbc:EncodingCode>"
        f"<cbc:Description><![CDATA[{_application_response(doc)}]]></cbc:Description>"
        "</cac:ExternalReference></cac:Attachment><cac:ResultOfVerification>"
        "<cbc:ValidatorID>Unidad Especial Dirección de Impuestos y Aduanas Nacionales</cbc:ValidatorID>"
        f"<cbc:ValidationResultCode>02</cbc:ValidationResultCode><cbc:ValidationDate>{doc.issue_date.isoformat()}"
        f"</cbc:ValidationDate><cbc:ValidationTime>{doc.issue_time}</cbc:ValidationTime></cac:ResultOfVerification>"
        "</cac:DocumentReference></cac:ParentDocumentLineReference></AttachedDocument>"
    )


def fake_pdf(doc: Doc) -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        + f"% representacion grafica {doc.number}\n".encode()
        + b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def zip_bytes(members: list[tuple[str, bytes]], when: date) -> bytes:
    """Deterministic zip: fixed timestamps, so the same seed gives the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(when.year, when.month, when.day, 8, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()
