"""Load: source files -> RawPage objects (original lines, printed page number, provenance).

Supported: the page-text export of a document site (the shipped seed), PDF (pypdf, page by page),
plain text and Markdown in UTF-8, Shift_JIS/CP932, EUC-JP, ISO-2022-JP or UTF-16 (strict decoding).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes
from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError

from ingest.errors import SourceError
from ingest.manifest import CorpusManifest, Document, Layout

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf")
_JAPANESE_ENCODINGS = ["cp932", "euc_jp"]  # cp932 is a superset of shift_jis
_EXPORT_MARKERS = ("プレーンテキスト", "出典情報 |")
_EXPORT_TEXT_MARKER = "プレーンテキスト"  # the site's header ends here, followed by its notes on the text
_EXPORT_NOTES = ("資料テキストは", "テキストをコピーして")
_EXPORT_PAGE = re.compile(r"\((?P<page>[0-9]+) ページ\)\s*$")
_EXPORT_FIELD = re.compile(r"^(?P<key>公開元URL|出典情報) \| (?P<value>.+?) \|?\s*$")


@dataclass(frozen=True)
class RawPage:
    source: Path
    document: Document
    layout: Layout
    page: int | None
    lines: tuple[str, ...]
    source_url: str
    source_title: str


def discover_sources(corpus_dir: Path, paths: list[Path] | None = None) -> list[Path]:
    """The files to ingest: named paths, or every supported file under corpus_dir/manual."""
    if paths:
        for path in paths:
            _check_source(path)
        return sorted({p.resolve() for p in paths})
    manual = corpus_dir / "manual"
    found = [
        p for p in sorted(manual.rglob("*"))
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
        # editor locks, macOS "._x.pdf" forks and the like are not sources
        and not any(part.startswith(".") for part in p.relative_to(manual).parts)
    ]
    return [p.resolve() for p in found]


def _check_source(path: Path) -> None:
    if not path.exists():
        raise SourceError(f"ファイルが見つかりません: {path}")
    if not path.is_file():
        raise SourceError(f"ファイルではありません: {path}(ファイルのパスを指定してください)")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise SourceError(
            f"対応していない形式です: {path.name}。対応形式は {', '.join(SUPPORTED_SUFFIXES)} です。"
        )


def load_pages(path: Path, manifest: CorpusManifest, corpus_dir: Path) -> list[RawPage]:
    _check_source(path)
    if path.suffix.lower() == ".pdf":
        document = manifest.document_for(path, corpus_dir)
        return _load_pdf(path, document, manifest.layout_for(document))
    text = decode_text(path.read_bytes(), path)
    if all(marker in text for marker in _EXPORT_MARKERS):
        return [_load_export_page(path, text, manifest, corpus_dir)]
    document = manifest.document_for(path, corpus_dir)
    return _load_plain(path, text, document, manifest.layout_for(document))


def decode_text(data: bytes, path: Path) -> str:
    """Decode strictly, in order: UTF-8 (BOM or not), Shift_JIS/CP932, EUC-JP, ISO-2022-JP, UTF-16.

    A file that decodes strictly under one of them is read as such: half-width katakana is ordinary
    Japanese text, not a sign of mojibake. Only when both CP932 and EUC-JP decode strictly (their
    byte ranges overlap) does charset-normalizer choose between them. Raises SourceError (naming the
    file) when nothing decodes.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decode_or_fail(data, "utf-16", path)
    if b"\x1b$B" in data or b"\x1b$@" in data:  # ISO-2022-JP is 7-bit: it would pass for UTF-8
        return _decode_or_fail(data, "iso2022_jp", path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(data):
        raise SourceError(
            f"文字コードを判別できません: {path.name}。UTF-8 として壊れた箇所があります。"
            "UTF-8 または Shift_JIS で保存し直してください。"
        )
    decoded = {enc: text for enc in _JAPANESE_ENCODINGS if (text := _strict(data, enc)) is not None}
    if len(decoded) == 1:
        return next(iter(decoded.values()))
    if decoded:
        return _disambiguate(data, decoded)
    best = from_bytes(data, cp_isolation=["utf_16"]).best()
    if best is None or best.chaos > 0.3:
        raise SourceError(
            f"文字コードを判別できません: {path.name}。UTF-8 または Shift_JIS で保存し直してください。"
        )
    return str(best)


def _strict(data: bytes, encoding: str) -> str | None:
    """The text if `data` decodes under `encoding` without errors and without characters no text file
    holds (control characters other than line and page breaks, private-use or unassigned code points)."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    odd = any(unicodedata.category(c) in ("Cc", "Co", "Cn") and c not in "\t\n\r\f\v" for c in text)
    return None if odd else text


def _disambiguate(data: bytes, decoded: dict[str, str]) -> str:
    """Both CP932 and EUC-JP decode: charset-normalizer picks; if it cannot, the one with more hiragana
    (EUC-JP bytes read as CP932 come out as half-width katakana and rare kanji, almost never hiragana)."""
    best = from_bytes(data, cp_isolation=list(decoded)).best()
    if best is not None and best.encoding in decoded:
        return decoded[best.encoding]
    return max(decoded.values(), key=lambda text: sum("\u3041" <= c <= "\u309f" for c in text))


def _decode_or_fail(data: bytes, encoding: str, path: Path) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SourceError(f"文字コードを判別できません: {path.name}({exc})。UTF-8 で保存し直してください。") from exc


def _mostly_utf8(data: bytes) -> bool:
    """Valid UTF-8 but for a few damaged bytes: decoding it as Shift_JIS would only give mojibake."""
    text = data.decode("utf-8", errors="replace")
    damaged = text.count("\ufffd")
    multibyte = sum(1 for c in text if ord(c) > 0x7F and c != "\ufffd")
    return multibyte >= 4 and damaged * 20 <= multibyte


def _load_export_page(path: Path, text: str, manifest: CorpusManifest, corpus_dir: Path) -> RawPage:
    """One page of the document site's page-text export: site header, 出典 fields, the text."""
    lines = text.splitlines()
    fields = {m["key"]: m["value"] for m in map(_EXPORT_FIELD.match, lines) if m}
    page_match = next((m for m in map(_EXPORT_PAGE.search, lines[:5]) if m), None)
    url = fields.get("公開元URL", "")
    # A page exported from a PDF the manifest describes belongs to that document (chapters, layout),
    # whatever the file is called.
    document = manifest.document_for(path, corpus_dir, url)
    if document not in manifest.documents and "出典情報" in fields:
        document = document.model_copy(update={"title": fields["出典情報"]})
    return RawPage(
        source=path,
        document=document,
        layout=manifest.layout_for(document),
        page=int(page_match["page"]) if page_match else None,
        lines=tuple(_export_body(lines)),
        source_url=url or document.source_url,
        source_title=fields.get("出典情報", document.title),
    )


def _export_body(lines: list[str]) -> list[str]:
    """The page text without the site header (which every layout, even `plain`, must lose)."""
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == _EXPORT_TEXT_MARKER) + 1
    except StopIteration:
        return lines
    while start < len(lines) and lines[start].strip().startswith(_EXPORT_NOTES):
        start += 1
    return lines[start:]


def _load_plain(path: Path, text: str, document: Document, layout: Layout) -> list[RawPage]:
    """Plain text and Markdown: form feeds separate pages; otherwise the file is one page."""
    parts = text.split("\f")
    pages = []
    for number, part in enumerate(parts, start=1):
        if part.strip():
            page = number if len(parts) > 1 else None
            pages.append(_page(path, document, layout, page, part.splitlines()))
    return pages


def _load_pdf(path: Path, document: Document, layout: Layout) -> list[RawPage]:
    try:
        reader = PdfReader(path)
        texts = [page.extract_text() or "" for page in reader.pages]
    except FileNotDecryptedError as exc:
        raise SourceError(
            f"PDF がパスワードで保護されています: {path.name}。保護を解除した PDF を追加してください。"
        ) from exc
    except Exception as exc:  # pypdf raises many types (KeyError, TypeError...) on damaged files
        raise SourceError(f"PDF を読み込めません: {path.name}({exc})。ファイルが壊れていないか確認してください。") from exc
    if not any(t.strip() for t in texts):
        raise SourceError(
            f"PDF にテキスト層がありません: {path.name}。スキャン画像の PDF です。OCR でテキスト化してから追加してください。"
        )
    page_lines = [text.splitlines() for text in texts]
    printed = [_printed_page_number(lines, layout) for lines in page_lines]
    # A page without a printed number (a figure, a divider) is numbered like its neighbours:
    # the usual distance between printed numbers and PDF page indexes, else the manifest's offset.
    offsets = Counter(number - index for index, number in enumerate(printed, start=1) if number is not None)
    offset = offsets.most_common(1)[0][0] if offsets else document.pdf_page_offset
    return [
        _page(path, document, layout, number if number is not None else index + offset, lines)
        for index, (lines, number) in enumerate(zip(page_lines, printed), start=1)
    ]


def _printed_page_number(lines: list[str], layout: Layout) -> int | None:
    """The last line that holds only a number is the printed page number (footer)."""
    for line in reversed(lines):
        normalised = unicodedata.normalize("NFKC", line).strip()
        if normalised and layout.matches("page_number", normalised):
            return int(normalised)
    return None


def _page(path: Path, document: Document, layout: Layout, page: int | None, lines: list[str]) -> RawPage:
    return RawPage(
        source=path,
        document=document,
        layout=layout,
        page=page,
        lines=tuple(lines),
        source_url=document.source_url,
        source_title=document.title,
    )
