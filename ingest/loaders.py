"""Load: source files -> RawPage objects (lines, printed page number, provenance), and the pages refused.

Supported: the page-text export of a document site in its two known layouts (the shipped seed), PDF
(page by page, by pdfminer.six), plain text and Markdown in UTF-8, Shift_JIS/CP932, EUC-JP, ISO-2022-JP or UTF-16
(strict decoding). Every line loses the extraction artefacts that ingest.artefacts repairs; a page
whose text is still garbled is refused, never indexed.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

from charset_normalizer import from_bytes
from pdfminer.high_level import extract_text
from pdfminer.layout import LAParams
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.psexceptions import PSException

from ingest.artefacts import garbled_share, repair_line
from ingest.errors import SourceError
from ingest.manifest import CorpusManifest, Document, Layout
from ingest.page_numbers import PageNumber, lone_number, number_pages

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".pdf")
_JAPANESE_ENCODINGS = ["cp932", "euc_jp"]  # cp932 is a superset of shift_jis
# The document site's page-text export. Its header (site name, banner, title line, source fields,
# image links, disclaimer) ends at the last of these lines near the top; whatever the banner says
# above them is header too. Layout "table" writes fields as `公開元URL | … |`, layout "plain" without `|`.
_EXPORT_TITLE = re.compile(r"\((?P<page>[0-9]+) ページ\)\s*$")
_EXPORT_FIELD = re.compile(r"^(?P<key>公開元URL|出典情報)\s*(?P<table>\|)?\s*(?P<value>.+?)\s*\|?\s*$")
_EXPORT_SITE_LINE = re.compile(
    r"^(?:出典|ページ画像|プレーンテキスト|低解像度画像をダウンロード|ダウンロードした画像を.*|資料テキストは.*|テキストをコピーして.*)$"
)
_EXPORT_HEADER_LINES = 30  # the header never runs longer; a match further down is page text
_UNMAPPED_GLYPH = re.compile(r"\(cid:[0-9]+\)")
GARBLED_SHARE = 0.1  # a page with more characters no Japanese manual holds is refused
_GARBLED_MIN_CHARS = 3


@dataclass(frozen=True)
class RawPage:
    source: Path
    document: Document
    layout: Layout
    page: int | None
    lines: tuple[str, ...]
    source_url: str
    source_title: str
    page_found: str = "none"  # "export", "top", "bottom", "glued", "inferred" or "none" (ingest.page_numbers)
    removed: tuple[tuple[str, str], ...] = ()  # (line, why) dropped while loading: site header, page number
    position: int = 1  # 1-based place of the page in its file


@dataclass(frozen=True)
class RefusedPage:
    source: Path
    index: int  # 1-based position in the file
    reason: str  # Japanese, for people: names the page and what to do


@dataclass(frozen=True)
class LoadedFile:
    """What one source file gave: its format as recognised, its pages and the pages refused."""

    path: Path
    format: str  # "export-table", "export-plain", "pdf", "text", "duplicate"
    pages: tuple[RawPage, ...]
    refused: tuple[RefusedPage, ...] = ()
    blank: tuple[int, ...] = ()  # positions of pages without any text (blank, or an image only)
    encoding: str = ""  # of a text file, as decoded
    duplicate_of: str = ""  # name of an earlier file with the same bytes (this one was not read)


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


def load_file(path: Path, manifest: CorpusManifest, corpus_dir: Path) -> LoadedFile:
    """Read one source. Raises SourceError when the file cannot be read at all; pages that are
    garbled are listed in `refused` instead of being returned."""
    _check_source(path)
    if path.suffix.lower() == ".pdf":
        document = manifest.document_for(path, corpus_dir)
        return _load_pdf(path, document, manifest.layout_for(document))
    text, encoding = decode_text(path.read_bytes(), path)
    lines = [repair_line(line) for line in text.splitlines()]
    if (header := _export_header(lines)) is not None:
        loaded = _load_export_page(path, lines, header, manifest, corpus_dir)
    else:
        document = manifest.document_for(path, corpus_dir)
        loaded = _load_plain(path, text, document, manifest.layout_for(document))
    return replace(loaded, encoding=encoding)


def load_pages(path: Path, manifest: CorpusManifest, corpus_dir: Path) -> list[RawPage]:
    """The pages of one source that can be indexed (see load_file for what was refused)."""
    return list(load_file(path, manifest, corpus_dir).pages)


def decode_text(data: bytes, path: Path) -> tuple[str, str]:
    """The text and the encoding it was read in. Decodes strictly, in order: UTF-8 (BOM or not),
    Shift_JIS/CP932, EUC-JP, ISO-2022-JP, UTF-16.

    A file that decodes strictly under one of them is read as such: half-width katakana is ordinary
    Japanese text, not a sign of mojibake. Only when both CP932 and EUC-JP decode strictly (their
    byte ranges overlap) does charset-normalizer choose between them. Raises SourceError (naming the
    file) when nothing decodes.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decode_or_fail(data, "utf-16", path), "utf-16"
    if b"\x1b$B" in data or b"\x1b$@" in data:  # ISO-2022-JP is 7-bit: it would pass for UTF-8
        return _decode_or_fail(data, "iso2022_jp", path), "iso2022_jp"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(data):
        raise SourceError(
            f"文字コードを判別できません: {path.name}。UTF-8 として壊れた箇所があります。"
            "UTF-8 または Shift_JIS で保存し直してください。"
        )
    decoded = {enc: text for enc in _JAPANESE_ENCODINGS if (text := _strict(data, enc)) is not None}
    if len(decoded) == 1:
        return next(iter(decoded.items()))[::-1]
    if decoded:
        return _disambiguate(data, decoded)
    best = from_bytes(data, cp_isolation=["utf_16"]).best()
    if best is None or best.chaos > 0.3:
        raise SourceError(
            f"文字コードを判別できません: {path.name}。UTF-8 または Shift_JIS で保存し直してください。"
        )
    return str(best), best.encoding


def _strict(data: bytes, encoding: str) -> str | None:
    """The text if `data` decodes under `encoding` without errors and without characters no text file
    holds (control characters other than line and page breaks, private-use or unassigned code points)."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    odd = any(unicodedata.category(c) in ("Cc", "Co", "Cn") and c not in "\t\n\r\f\v" for c in text)
    return None if odd else text


def _disambiguate(data: bytes, decoded: dict[str, str]) -> tuple[str, str]:
    """Both CP932 and EUC-JP decode: charset-normalizer picks; if it cannot, the one with more hiragana
    (EUC-JP bytes read as CP932 come out as half-width katakana and rare kanji, almost never hiragana)."""
    best = from_bytes(data, cp_isolation=list(decoded)).best()
    if best is not None and best.encoding in decoded:
        return decoded[best.encoding], best.encoding
    encoding = max(decoded, key=lambda enc: sum("\u3041" <= c <= "\u309f" for c in decoded[enc]))
    return decoded[encoding], encoding


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


def _export_header(lines: list[str]) -> int | None:
    """Where the document site's header ends (index of its last line), or None if this is no export:
    an export has a title line ending 「(NN ページ)」 and a 公開元URL field near the top."""
    top = [(i, line.strip()) for i, line in enumerate(lines[:_EXPORT_HEADER_LINES])]
    has_title = any(_EXPORT_TITLE.search(line) for _, line in top)
    has_url = any((m := _EXPORT_FIELD.match(line)) and m["key"] == "公開元URL" for _, line in top)
    if not (has_title and has_url):
        return None
    return max(
        i for i, line in top
        if _EXPORT_TITLE.search(line) or _EXPORT_FIELD.match(line) or _EXPORT_SITE_LINE.match(line)
    )


def _load_export_page(
    path: Path, lines: list[str], header_end: int, manifest: CorpusManifest, corpus_dir: Path
) -> LoadedFile:
    """One page of the document site's page-text export: site header, source fields, the text."""
    header = [line.strip() for line in lines[:header_end + 1]]
    fields = {m["key"]: m for m in map(_EXPORT_FIELD.match, header) if m}
    page_match = next((m for m in map(_EXPORT_TITLE.search, header) if m), None)
    url = fields["公開元URL"]["value"] if "公開元URL" in fields else ""
    title = fields["出典情報"]["value"] if "出典情報" in fields else ""
    # A page exported from a PDF the manifest describes belongs to that document (chapters, layout),
    # whatever the file is called.
    document = manifest.document_for(path, corpus_dir, url)
    if document not in manifest.documents and title:
        document = document.model_copy(update={"title": title})
    page = RawPage(
        source=path,
        document=document,
        layout=manifest.layout_for(document),
        page=int(page_match["page"]) if page_match else None,
        lines=tuple(lines[header_end + 1:]),
        source_url=url or document.source_url,
        source_title=title or document.title,
        page_found="export" if page_match else "none",
        removed=tuple((line, "site-header") for line in header if line),
    )
    layout = "export-table" if any(m["table"] for m in fields.values()) else "export-plain"
    return _screened(path, layout, [page])


def _load_plain(path: Path, text: str, document: Document, layout: Layout) -> LoadedFile:
    """Plain text and Markdown: pages numbered like PDF pages (see _text_pages); a file of one page
    has no page number."""
    parts = _text_pages(text)
    if not any(line.strip() for part in parts for line in part):
        return LoadedFile(path, "text", ())
    if len(parts) == 1:
        return _screened(path, "text", [_page(path, document, layout, None, parts[0], 1)])
    numbered = number_pages(parts, document.pdf_page_offset)
    return _screened(path, "text", [
        _page(path, document, layout, n, list(n.lines), position) for position, n in enumerate(numbered, start=1)
    ])


def _text_pages(text: str) -> list[list[str]]:
    """The pages of a text file: form feeds separate them; without any, a "save as text" export is cut
    at the lines that hold only a page number, when those count up one by one through the file (after
    each footer, or before each header when the file starts with one)."""
    if "\f" in text.strip():
        parts = [[repair_line(line) for line in part.splitlines()] for part in text.split("\f")]
        return [lines for lines in parts if any(line.strip() for line in lines)] or [[]]
    lines = [repair_line(line) for line in text.splitlines()]
    numbers = [(i, n) for i, line in enumerate(lines) if (n := lone_number(line)) is not None]
    counting = len(numbers) >= 2 and all(b[1] == a[1] + 1 for a, b in pairwise(numbers))
    if not counting:
        return [lines]
    first_filled = next(i for i, line in enumerate(lines) if line.strip())
    header = numbers[0][0] == first_filled
    cuts = [i if header else i + 1 for i, _ in numbers]
    bounds = [0, *[c for c in cuts if 0 < c < len(lines)], len(lines)]
    parts = [lines[a:b] for a, b in pairwise(bounds)]
    return [part for part in parts if any(line.strip() for line in part)]


def _load_pdf(path: Path, document: Document, layout: Layout) -> LoadedFile:
    texts = _pdf_texts(path)
    if not any(t.strip() for t in texts):
        raise SourceError(
            f"PDF にテキスト層がありません: {path.name}。スキャン画像の PDF です。OCR でテキスト化してから追加してください。"
        )
    with_text = [(position, text) for position, text in enumerate(texts, start=1) if text.strip()]
    numbered = number_pages([[repair_line(line) for line in text.splitlines()] for _, text in with_text],
                            document.pdf_page_offset)
    pages = [_page(path, document, layout, n, list(n.lines), position)
             for (position, _), n in zip(with_text, numbered)]
    blank = tuple(position for position, text in enumerate(texts, start=1) if not text.strip())
    return replace(_screened(path, "pdf", pages), blank=blank)


def _pdf_texts(path: Path) -> list[str]:
    """The text of each PDF page, in page order, by pdfminer.six.

    Measured against pypdf and pypdfium2 (benchmarks/bench_pdf_extractors.py): only pdfminer.six read
    every hard case, predefined CMaps without ToUnicode (EUC-H, H, 90ms-RKSJ-H) and vertical text
    (with detect_vertical) alike; pypdf garbled EUC-H and H. A glyph it cannot map comes out as
    "(cid:N)", which is made a replacement character so that the page counts as garbled.
    """
    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # a warning per odd font bbox is noise
    try:
        text = extract_text(path, laparams=LAParams(detect_vertical=True))
    except (PDFPasswordIncorrect, PDFEncryptionError) as exc:
        raise SourceError(
            f"PDF がパスワードで保護されています: {path.name}。保護を解除した PDF を追加してください。"
        ) from exc
    except (PSException, ValueError, KeyError, TypeError, AssertionError) as exc:  # damaged files
        raise SourceError(f"PDF を読み込めません: {path.name}({exc})。ファイルが壊れていないか確認してください。") from exc
    pages = text.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()  # a form feed ends every page, the last one too
    return [_UNMAPPED_GLYPH.sub("\ufffd", page) for page in pages]


def _screened(path: Path, layout: str, pages: list[RawPage]) -> LoadedFile:
    """Refuse the pages whose text is garbled (a font without a usable Unicode map, say)."""
    kept, refused = [], []
    for page in pages:
        text = "".join(page.lines)
        share = garbled_share(text)
        odd = round(share * sum(1 for c in text if not c.isspace()))
        if share > GARBLED_SHARE and odd >= _GARBLED_MIN_CHARS:
            where = f"{page.position} ページ目" + (f"(印刷ページ {page.page})" if page.page is not None else "")
            refused.append(RefusedPage(path, page.position, (
                f"{path.name} の {where}は文字化けしています(日本語の文書にない文字が {share:.0%})。"
                "索引に入れませんでした。OCR でテキスト化するか、別の方法で書き出したファイルを追加してください。"
            )))
        else:
            kept.append(page)
    return LoadedFile(path, layout, tuple(kept), tuple(refused))


def _page(path: Path, document: Document, layout: Layout, number: PageNumber | None, lines: list[str],
          position: int) -> RawPage:
    return RawPage(
        source=path,
        document=document,
        layout=layout,
        page=number.number if number else None,
        lines=tuple(lines),
        source_url=document.source_url,
        source_title=document.title,
        page_found=number.found if number else "none",
        removed=tuple((line, "page-number") for line in number.removed) if number else (),
        position=position,
    )
