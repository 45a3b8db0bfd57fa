"""Reading inbox files safely: an ``.xml`` as is, a ``.zip``'s XML members, every size bounded."""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from quincena.core import config
from quincena.ingest.rejections import RejectedDocument

MAX_ZIP_MEMBERS = 20  # a DIAN zip holds one XML and one PDF; more smells like a bomb


@dataclass(frozen=True)
class XmlPayload:
    name: str  # file name, or "archive.zip!member.xml"
    data: bytes


def read_payloads(source: Path | bytes, filename: str | None = None, max_bytes: int | None = None) -> list[XmlPayload]:
    """The XML documents in a file: an ``.xml`` as is, a ``.zip``'s XML members (PDFs and others ignored)."""
    limit = config.max_file_bytes() if max_bytes is None else max_bytes
    if isinstance(source, Path):
        name = filename or source.name
        data = _read_bounded(source, limit)
    else:
        name = filename or "<bytes>"
        data = bytes(source)
        if len(data) > limit:
            raise RejectedDocument("too_large", f"file is {len(data)} bytes; the limit is {limit}")
    if data[:4] == b"PK\x03\x04" or name.lower().endswith(".zip"):
        return _zip_payloads(name, data, limit)
    return [XmlPayload(name, data)]


def _read_bounded(path: Path, limit: int) -> bytes:
    """Read a file, refusing (without reading it) one larger than ``limit``."""
    size = path.stat().st_size
    if size > limit:
        raise RejectedDocument("too_large", f"file is {size} bytes; the limit is {limit}")
    with path.open("rb") as handle:
        data = handle.read(limit + 1)  # it may have grown since stat()
    if len(data) > limit:
        raise RejectedDocument("too_large", f"file is over the limit of {limit} bytes")
    return data


def _zip_payloads(name: str, data: bytes, limit: int) -> list[XmlPayload]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise RejectedDocument(
                    "too_large", f"zip holds {len(members)} members; at most {MAX_ZIP_MEMBERS} are accepted"
                )
            xml_members = [m for m in members if _is_xml_member(m)]
            if not xml_members:
                listing = ", ".join(m.filename for m in members) or "nothing"
                raise RejectedDocument("no_documents", f"zip holds no XML document (it holds {listing})")
            budget = limit
            payloads = []
            for member in xml_members:
                content = _read_member(archive, member, budget, limit)
                budget -= len(content)
                payloads.append(XmlPayload(f"{name}!{member.filename}", content))
            return payloads
    except RejectedDocument:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError) as exc:
        raise RejectedDocument("invalid_zip", f"not a readable zip: {exc}") from None
    except NotImplementedError as exc:
        raise RejectedDocument("invalid_zip", f"zip uses an unsupported feature: {exc}") from None


def _is_xml_member(member: zipfile.ZipInfo) -> bool:
    base = member.filename.rsplit("/", 1)[-1]
    return (
        not member.is_dir()
        and base.lower().endswith(".xml")
        and not base.startswith("._")  # macOS resource forks
        and "__MACOSX/" not in member.filename
    )


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, budget: int, limit: int) -> bytes:
    """Decompress one member, stopping as soon as the archive's total passes the limit (zip bombs lie)."""
    too_big = RejectedDocument("too_large", f"zip expands beyond the limit of {limit} bytes")
    if member.file_size > budget:
        raise too_big
    chunks, total = [], 0
    with archive.open(member) as handle:
        while chunk := handle.read(64 * 1024):
            total += len(chunk)
            if total > budget:
                raise too_big
            chunks.append(chunk)
    return b"".join(chunks)
