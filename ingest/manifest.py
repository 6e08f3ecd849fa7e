"""The corpus manifest (corpus/manifest.toml): documents, chapters by page, layout profiles."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingest.errors import ManifestError


class Layout(BaseModel):
    """Line patterns that cleaning removes and structure recognises (matched after NFKC)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chapter_tab: str
    chapter_names: list[str] = []
    page_number: str
    boilerplate: list[str] = []
    title: str = "^$^"
    viewpoint_heading: str
    example_heading: str
    subsection: str
    viewpoint: str
    bullet: str

    @field_validator(
        "chapter_tab", "page_number", "title", "viewpoint_heading", "example_heading",
        "subsection", "viewpoint", "bullet",
    )
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        re.compile(pattern)
        return pattern

    @field_validator("boilerplate")
    @classmethod
    def _all_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            re.compile(pattern)
        return patterns

    def matches(self, field: str, line: str) -> re.Match[str] | None:
        return re.search(getattr(self, field), line)

    def is_boilerplate(self, line: str) -> bool:
        return any(re.search(p, line) for p in self.boilerplate)


class Chapter(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key (page = [...]) is an error, not ignored

    label: str
    pages: list[int] = []


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    publisher: str = ""
    source_url: str = ""
    published: str = ""
    licence_note: str = ""
    files: list[str] = []
    layout: str = "plain"
    pdf_page_offset: int = 0
    chapters: list[Chapter] = []

    def claims(self, path: Path, corpus_dir: Path) -> bool:
        try:
            relative = path.resolve().relative_to(corpus_dir.resolve()).as_posix()
        except ValueError:
            relative = path.name
        return any(
            fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(path.name, Path(pattern).name)
            for pattern in self.files
        )

    def chapter_of(self, page: int | None) -> str:
        if page is None:
            return ""
        return next((c.label for c in self.chapters if page in c.pages), "")


class CorpusManifest(BaseModel):
    documents: list[Document] = []
    layouts: dict[str, Layout] = Field(default_factory=dict)
    source_path: Path | None = None

    @cached_property
    def fingerprint(self) -> str:
        """Part of the corpus hash: a manifest edit (chapters, patterns) changes the index."""
        return self.model_dump_json(exclude={"source_path"})

    def document_for(self, path: Path, corpus_dir: Path, source_url: str = "") -> Document:
        """The document whose `files` match the path, else the one published at `source_url` (a
        page-text export names the PDF it was exported from), else an ad-hoc plain document."""
        for document in self.documents:
            if document.claims(path, corpus_dir):
                return document
        if source_url:
            for document in self.documents:
                if document.source_url and document.source_url == source_url:
                    return document
        return Document(id=path.stem, title=path.stem, source_url=source_url, layout="plain")

    def layout_for(self, document: Document) -> Layout:
        try:
            return self.layouts[document.layout]
        except KeyError:
            raise ManifestError(
                f"マニフェストの文書「{document.id}」が未定義のレイアウト「{document.layout}」を指定しています。"
                f" [layouts.{document.layout}] を追加するか、{sorted(self.layouts)} のいずれかを指定してください。"
            ) from None


def load_manifest(path: Path) -> CorpusManifest:
    if not path.is_file():
        raise ManifestError(f"コーパスのマニフェストが見つかりません: {path}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        manifest = CorpusManifest.model_validate({**raw, "source_path": path})
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"マニフェスト {path} の書式が正しくありません: {exc}") from exc
    except (ValidationError, re.error) as exc:
        raise ManifestError(f"マニフェスト {path} の内容が正しくありません: {exc}") from exc
    if "plain" not in manifest.layouts:
        raise ManifestError(f"マニフェスト {path} に既定のレイアウト [layouts.plain] がありません。")
    for document in manifest.documents:
        manifest.layout_for(document)
    return manifest
