"""The ingest report: for each file, the format recognised, its pages with their printed numbers and
chunks, the pages refused and why, and the lines removed as boilerplate; with the warnings a person
should act on (a page with no printed number, a document whose pages got no chapter).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.core.chunks import Chunk
from ingest.loaders import LoadedFile
from ingest.structure import StructuredPage

FORMAT_LABELS = {
    "export-table": "文書サイトのページ書き出し(出典が表形式)",
    "export-plain": "文書サイトのページ書き出し(出典が行形式)",
    "pdf": "PDF",
    "text": "テキスト・Markdown",
    "duplicate": "同じ内容のファイルの複製(読み込みません)",
}
FOUND_LABELS = {
    "export": "書き出しの題名行",
    "top": "ページ上端の番号",
    "bottom": "ページ下端の番号",
    "glued": "本文とつながった番号",
    "inferred": "推定(前後のページから)",
    "none": "なし",
}

REMOVED_LABELS = {
    "site-header": "文書サイトのヘッダー(サイト名・出典・注記)",
    "running": "多くのページに繰り返し出る行(ヘッダー・フッター・章タブ)",
    "chapter-tabs": "章タブ",
    "layout": "レイアウトの定型文",
    "page-number": "ページ番号",
    "repeated-copy": "本文の重複コピー",
}


@dataclass(frozen=True)
class RefusedReport:
    index: int  # 1-based position in the file
    reason: str


@dataclass(frozen=True)
class PageReport:
    index: int  # 1-based position in the file
    page: int | None  # printed page number
    found: str  # how the number was found: see FOUND_LABELS
    title: str
    chapter: str
    chunks: int


@dataclass(frozen=True)
class RemovedLine:
    line: str
    why: str  # a key of REMOVED_LABELS
    count: int  # how many times, over the file's pages


@dataclass(frozen=True)
class FileReport:
    file: str
    format: str
    encoding: str  # of a text file ("" for PDF)
    document: str
    pages: tuple[PageReport, ...]
    refused: tuple[RefusedReport, ...]
    removed: tuple[RemovedLine, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class IngestReport:
    files: tuple[FileReport, ...]

    @property
    def warnings(self) -> list[str]:
        return [w for f in self.files for w in (*(r.reason for r in f.refused), *f.warnings)]

    @property
    def refused_pages(self) -> int:
        return sum(len(f.refused) for f in self.files)

    def to_json(self) -> dict:
        """{"files": [{"file", "format", "encoding", "document", "pages": [{index, page, found, title,
        chapter, chunks}], "refused": [{index, reason}], "removed": [{line, why, count}], "warnings":
        [...]}, ...], "warnings": [...]}: the shape of `kasuhara ingest --json`."""
        return {"files": [asdict(f) for f in self.files], "warnings": self.warnings}

    def render(self) -> str:
        """The report as text for a terminal, one block per file."""
        return "\n".join(_render_file(f) for f in self.files)


def build_report(loaded: list[LoadedFile], pages: list[StructuredPage], chunks: list[Chunk]) -> IngestReport:
    per_page = Counter((c.source_file, c.page, c.page_title) for c in chunks)
    by_file: dict[Path, list[StructuredPage]] = {}
    for page in pages:
        by_file.setdefault(page.clean.raw.source, []).append(page)
    return IngestReport(tuple(_file_report(f, by_file.get(f.path, []), per_page) for f in loaded))


def _file_report(loaded: LoadedFile, pages: list[StructuredPage], per_page: Counter) -> FileReport:
    reports = tuple(
        PageReport(
            index=page.clean.raw.position,
            page=page.clean.raw.page,
            found=page.clean.raw.page_found,
            title=page.title,
            chapter=page.clean.raw.document.chapter_of(page.clean.raw.page),
            chunks=per_page[(loaded.path.name, page.clean.raw.page, page.title)],
        )
        for page in pages
    )
    removed = Counter((line, why) for page in pages for line, why in page.clean.removed)
    document = pages[0].clean.raw.document if pages else None
    return FileReport(
        file=loaded.path.name,
        format=loaded.format,
        encoding=loaded.encoding,
        document=document.id if document else "",
        pages=reports,
        refused=tuple(RefusedReport(r.index, r.reason) for r in loaded.refused),
        removed=tuple(RemovedLine(line, why, n) for (line, why), n in removed.most_common()),
        warnings=tuple(_warnings(loaded, reports, bool(document and document.chapters))),
    )


def _warnings(loaded: LoadedFile, pages: tuple[PageReport, ...], has_chapters: bool) -> list[str]:
    name = loaded.path.name
    if loaded.duplicate_of:
        return [f"{name} は {loaded.duplicate_of} と同じ内容のため、読み込みませんでした。"]
    warnings = []
    if not pages and not loaded.refused:
        warnings.append(f"{name} に本文が見つかりませんでした。ファイルの中身を確認してください。")
    if loaded.blank:
        where = "、".join(f"{p} ページ目" for p in loaded.blank)
        warnings.append(f"{name}: 文字のないページがあります: {where}。白紙でなく画像だけのページなら、"
                        "その文字は索引に入っていません。OCR でテキスト化したファイルを追加してください。")
    inferred = [p for p in pages if p.found == "inferred"]
    if inferred:
        where = "、".join(f"{p.index} ページ目" + (f"(p.{p.page} と推定)" if p.page else "(番号なし)")
                         for p in inferred)
        warnings.append(
            f"{name}: 印刷ページ番号が見つからないか、前後のページと合わないページがあります: {where}。"
            "引用のページ表示を確かめ、違っていれば manifest.toml の pdf_page_offset を直してください。"
        )
    if pages and not any(p.chapter for p in pages):
        hint = ("manifest.toml の [[documents.chapters]] の pages に印刷ページを追加してください。" if has_chapters
                else "manifest.toml にこの文書の [[documents]] と章([[documents.chapters]])を追加してください。")
        warnings.append(f"{name}: どのページにも章が割り当てられていません。{hint}")
    return warnings


def _render_file(report: FileReport) -> str:
    lines = [f"■ {report.file}  形式: {FORMAT_LABELS.get(report.format, report.format)}"
             + (f"({report.encoding})" if report.encoding else "")
             + (f"  文書: {report.document}" if report.document else "")]
    for page in report.pages:
        number = f"p.{page.page}" if page.page is not None else "p.-"
        lines.append(
            f"  {page.index:>3} ページ目  {number:<6} ({FOUND_LABELS[page.found]})  "
            f"チャンク {page.chunks:>2}  {page.chapter or '(章なし)'} › {page.title or '(題名なし)'}"
        )
    boilerplate = [r for r in report.removed if r.why != "repeated-copy"]
    if boilerplate:
        lines.append("  定型行として除いた行:")
        lines.extend(f"    {r.count:>3} 回  [{REMOVED_LABELS[r.why]}]  {r.line[:50]}" for r in boilerplate)
    if copies := sum(r.count for r in report.removed if r.why == "repeated-copy"):
        lines.append(f"  {REMOVED_LABELS['repeated-copy']}として除いた行: {copies} 行")
    lines.extend(f"  取り込めなかったページ: {r.reason}" for r in report.refused)
    lines.extend(f"  警告: {warning}" for warning in report.warnings)
    return "\n".join(lines)
