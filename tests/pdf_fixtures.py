"""Generate Japanese PDFs that imitate the manual's layout (used by tests and benchmarks/bench_ingest.py).

reportlab's built-in CID font HeiseiKakuGo-W5 needs no font file; the ➢ mark is drawn in DejaVu Sans. Each page carries what a page of the
Tokyo manual carries: a page title, a 「視 点」 box of ➢ viewpoints, an example block 【…(例)】, a ○.
subsection, • bullets hard-wrapped mid-word, the six chapter tabs down the right edge and the printed
page number at the bottom. The PDF page index differs from the printed number (`first_printed`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

FONT = "HeiseiKakuGo-W5"
MARK_FONT = "DejaVuSans"
MARK_FONT_FILE = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # fonts-dejavu-core (scripts/system_deps.sh)
CHAPTER_TABS = [("1章", "総論"), ("2章", "未然防止"), ("3章", "発生時"), ("4章", "発生後"), ("5章", "企業間"), ("6章", "その他")]
LINE_CHARS = 40  # hard-wrap width in characters, like the manual's text column


@dataclass
class PageSpec:
    """One manual page. A "\\n" inside a viewpoint or bullet forces the wrap at that point."""

    title: str
    viewpoints: list[str] = field(default_factory=list)
    example: str = ""  # the 【…】 block title, e.g. "相談体制の整備(例)"
    subsection: str = ""  # the ○. subsection title
    bullets: list[str] = field(default_factory=list)
    paragraph: str = ""  # plain text after the bullets


def wrap(text: str, width: int = LINE_CHARS) -> list[str]:
    """Hard-wrap like a typesetter: at `width` characters, mid-word; an explicit "\\n" wraps there."""
    lines: list[str] = []
    for part in text.split("\n"):
        lines.extend(part[i:i + width] for i in range(0, len(part), width))
    return lines


def write_manual_pdf(
    path: Path,
    pages: list[PageSpec],
    first_printed: int = 27,
    bullet_style: str = "separate",
    tabs_first: bool = False,
    width: int = LINE_CHARS,
    unnumbered: frozenset[int] = frozenset(),
) -> Path:
    """Write `pages` as a PDF. bullet_style "separate" draws • and its text as two strings on one
    baseline (pypdf then puts them on separate lines); "inline" draws "• text" as one string.
    Pages whose 0-based index is in `unnumbered` print no page number (a figure page, say)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    pdf = canvas.Canvas(str(path), pagesize=A4)
    page_width, page_height = A4
    size, leading, left = 10, 14, 50
    for index, spec in enumerate(pages):
        y = page_height - 60

        def line(text: str, x: float = left, font_size: int = size) -> None:
            nonlocal y
            pdf.setFont(FONT, font_size)
            pdf.drawString(x, y, text)
            y -= leading

        if tabs_first:
            _tabs(pdf, page_width, page_height)
        line(spec.title, font_size=16)
        y -= 6
        if spec.viewpoints:
            box_top = y + leading
            line("視 点", x=left + 10)
            for viewpoint in spec.viewpoints:
                for i, part in enumerate(wrap(viewpoint, width)):
                    if i == 0:
                        _mark(pdf, left + 10, y, "➢")
                    line(part, x=left + 22)
            pdf.rect(left, y + leading - 4, page_width - 2 * left - 40, box_top - y - leading + 8)
            y -= 8
        if spec.example:
            line(f"【{spec.example}】")
        if spec.subsection:
            line(f"○.{spec.subsection}")
        for bullet in spec.bullets:
            parts = wrap(bullet, width)
            if bullet_style == "inline":
                line("• " + parts[0], x=left + 10)
            else:
                pdf.setFont(FONT, size)
                pdf.drawString(left + 10, y, "•")
                line(parts[0], x=left + 24)
            for part in parts[1:]:
                line(part, x=left + 24)
        if spec.paragraph:
            y -= 6
            for part in wrap(spec.paragraph, width):
                line(part)
        if not tabs_first:
            _tabs(pdf, page_width, page_height)
        if index not in unnumbered:
            pdf.setFont(FONT, 9)
            pdf.drawCentredString(page_width / 2, 30, str(first_printed + index))
        pdf.showPage()
    pdf.save()
    return path


def _mark(pdf, x: float, y: float, mark: str) -> None:
    """A list mark in an embedded TrueType font, as word processors write ➢ (with a ToUnicode map):
    the Japanese CID font has no glyph for it, so text extractors could not read it back."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if MARK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(MARK_FONT, MARK_FONT_FILE))
    pdf.setFont(MARK_FONT, 10)
    pdf.drawString(x, y, mark)


def _tabs(pdf, page_width: float, page_height: float) -> None:
    """The chapter tabs printed down the right edge of every page: "N章" above the chapter name."""
    pdf.setFont(FONT, 8)
    for i, (number, name) in enumerate(CHAPTER_TABS):
        y = page_height - 120 - i * 70
        pdf.drawString(page_width - 40, y, number)
        pdf.drawString(page_width - 40, y - 12, name)


def write_scanned_pdf(path: Path, pages: int = 1) -> Path:
    """An image-only PDF: shapes, no text layer (what a scanner without OCR produces)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    for _ in range(pages):
        pdf.setFillGray(0.85)
        pdf.rect(60, 100, 470, 640, fill=1, stroke=1)
        pdf.showPage()
    pdf.save()
    return path


# The page the project ships (p.28), as PageSpecs, wraps where the printed manual wraps.
PAGE_28 = PageSpec(
    title="相談体制の整備①",
    viewpoints=[
        "各業界団体においては、社内の相談体制を整えること、社内で対応策の共通認識を持つことの重要性など、会\n"
        "員企業に対して相談体制の整備の考え方を提示することが推奨されます。",
        "顧客等のクレームの初期段階で適切に対応するため、カスタマー・ハラスメントの判断や発生時の対応方法な\n"
        "どの相談窓口・相談対応者をあらかじめ決めておくことが大切です。",
    ],
    example="相談体制の整備(例)",
    subsection="相談窓口・相談対応者の設置",
    bullets=[
        "会員企業においては、カスタマー・ハラスメントに関して、就業者が気軽に相談できる相談窓口を社内に設置してください。",
        "会員企業の置かれた状況によりますが、本社と複数の店舗で運営される業務形態の場合、まず現場で迅速に対応できる店舗\n"
        "等の現場監督者(例:店長)1名を相談対応者として設置してください。",
        "また、客が刑法犯に該当する行為を行っている場合など、警察・弁護士との連携が必要となる場合に備え、本社に組織横断\n"
        "的な相談窓口を設置してください。",
    ],
)

# Vocabulary for generated pages: realistic manual-like sentences, recombined per page.
_SUBJECTS = [
    "会員企業においては", "現場監督者は", "相談対応者は", "本社の相談窓口は", "各業界団体においては",
    "就業者は", "経営者は", "人事労務部門は", "カスタマーサービス部門は", "法務部門は",
]
_CONTEXTS = [
    "顧客等から長時間の拘束を受けた場合", "大声で威圧的な言動があった場合", "土下座を要求された場合",
    "SNSへの投稿をほのめかされた場合", "同じ内容の電話が繰り返される場合", "金銭による補償を要求された場合",
    "従業員の個人情報を聞き出そうとされた場合", "刑法犯に該当する行為が疑われる場合",
]
_ACTIONS = [
    "複数名で対応し、やり取りの内容を正確に記録してください。",
    "速やかに本社の相談窓口に報告し、組織として対応方針を決定してください。",
    "警察・弁護士との連携を検討し、必要に応じて通報してください。",
    "就業者の安全を最優先とし、対応を打ち切ることも検討してください。",
    "対応マニュアルに沿って、毅然とした態度で要求に応じられない旨を伝えてください。",
    "就業者の心身の状況に配慮し、産業医やカウンセラーにつなげてください。",
    "定期的に研修を実施し、社内で対応策の共通認識を持つことが推奨されます。",
    "再発防止のため、事案の経緯と対応結果を振り返り、社内で共有することが大切です。",
]
_TOPICS = [
    "相談体制の整備", "対応方針の策定", "就業者への配慮", "記録の作成と保存", "警察との連携",
    "研修の実施", "再発防止策", "企業間での対応", "電話での対応", "来店時の対応",
]


def generate_pages(count: int, bullets_per_page: int = 10, seed: int = 0) -> list[PageSpec]:
    """`count` manual-like pages of Japanese text (deterministic for a given seed)."""
    rng = random.Random(seed)
    pages = []
    for n in range(count):
        topic = rng.choice(_TOPICS)
        marks = "①②③④⑤"

        def sentence() -> str:
            return f"{rng.choice(_SUBJECTS)}、{rng.choice(_CONTEXTS)}、{rng.choice(_ACTIONS)}"

        pages.append(PageSpec(
            title=f"{topic}{marks[n % len(marks)]}",
            viewpoints=[sentence() + sentence() for _ in range(2)],
            example=f"{topic}(例)",
            subsection=rng.choice(_CONTEXTS) + "の対応",
            bullets=[sentence() + (sentence() if rng.random() < 0.5 else "") for _ in range(bullets_per_page)],
        ))
    return pages
