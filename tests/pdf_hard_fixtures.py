"""Hard Japanese PDFs: what real producers do that the plain generator (pdf_fixtures.py) does not.

Used by benchmarks/bench_pdf_extractors.py to choose the PDF text extractor. Every generator writes
a PDF to `path` and returns the exact text a perfect extractor would give, one string per page, in
reading order (body first, then the chapter tabs down the side, then the printed page number at the
bottom). All content is fictitious manual-like text about 相談窓口, 店長, 本社, 警察・弁護士.

- `write_predefined_cmap_pdf`: a non-embedded CID font addressed through a predefined CMap (EUC-H,
  90ms-RKSJ-H, H) with no /ToUnicode map, as old DTP and office software wrote Japanese PDFs.
- `write_vertical_pdf`: vertical writing (縦書き), by reportlab's vertical CMap or by Chromium.
- `write_browser_pdf`: a word-processor-like page printed by Chromium: a letter-spaced heading,
  CJK radical code points, chapter tabs, the page number right after the title in the content order.

The Chromium generators need playwright and Debian's Chromium (`shutil.which("chromium")`); the
HTML uses only locally installed fonts (fonts-noto-cjk) and every non-inline request is aborted.
"""

from __future__ import annotations

import html as html_lib
import re
import shutil
from pathlib import Path

from pdf_fixtures import CHAPTER_TABS, wrap

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]

# (title, bullets) of the predefined-CMap pages. Only JIS X 0208 characters (no ①, no ～), so that
# the same text is expressible in EUC-JP, Shift_JIS and ISO-2022-JP.
_CMAP_PAGES = [
    ("相談窓口の役割", [
        "就業者から相談を受けた相談窓口は、事実関係を丁寧に聞き取り、記録に残します。",
        "店長は、現場で判断に迷う場合でも一人で抱え込まず、本社の相談窓口に連絡してください。",
        "相談した就業者が不利益な扱いを受けないよう、相談の内容は秘密として取り扱います。",
    ]),
    ("本社への報告の流れ", [
        "店舗で発生した事案は、24時間以内に店長から本社の担当部署へ報告します。",
        "報告には、日時、場所、顧客等の言動、対応した就業者の氏名を含めてください。",
        "本社は報告を受けた後、対応方針を決めて店舗に伝え、必要な支援を行います。",
    ]),
    ("警察・弁護士との連携", [
        "暴行や脅迫など犯罪に当たるおそれがある場合は、ためらわずに警察へ通報してください。",
        "法的な対応が必要と考えられる場合は、本社を通じて顧問弁護士に相談します。",
        "連携の窓口となる担当者をあらかじめ決めておくと、初動の対応が速やかになります。",
    ]),
]

# The text codecs whose bytes each predefined CMap reads. "H" is ISO-2022-JP without the escape
# sequences: two 7-bit bytes (JIS X 0208 row and cell) per character, and no one-byte range at all.
_CMAP_CODECS = {"EUC-H": "euc_jp", "90ms-RKSJ-H": "cp932", "H": "iso2022_jp"}
_TO_FULLWIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}


def _cmap_text(text: str, encoding: str) -> str:
    """`text` as reportlab's CIDFont wants it: the CMap's byte string, one str char per byte (latin-1).

    CIDFont.formatForPdf only escapes the string; reportlab does not encode for predefined CMaps."""
    data = text.encode(_CMAP_CODECS[encoding])
    if encoding == "H":
        data = re.sub(rb"\x1b[$(][@BJ]", b"", data)
    return data.decode("latin-1")


def write_predefined_cmap_pdf(path: Path, encoding: str = "EUC-H", first_printed: int = 12) -> list[str]:
    """Three pages in HeiseiMin-W3 through the predefined CMap `encoding` ("EUC-H", "90ms-RKSJ-H" or
    "H"), with no /ToUnicode map: an extractor must know the CMap (bytes -> CID) and Adobe-Japan1
    (CID -> Unicode) to read it, as with PDFs from old Japanese DTP and office software that used
    non-embedded 平成明朝. Title, ・ bullets, printed page number at the bottom. For "H", which has no
    one-byte codes, digits are printed full-width (２４), and the expected text says so."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import CIDFont
    from reportlab.pdfgen import canvas

    font = CIDFont("HeiseiMin-W3", encoding)
    pdfmetrics.registerFont(font)
    pdf = canvas.Canvas(str(path), pagesize=A4)
    page_width, page_height = A4
    expected = []
    for index, (title, bullets) in enumerate(_CMAP_PAGES):
        lines = [title]
        pdf.setFont(font.fontName, 16)
        pdf.drawString(50, page_height - 60, _cmap_text(title, encoding))
        y = page_height - 95
        pdf.setFont(font.fontName, 10.5)
        for bullet in bullets:
            if encoding == "H":
                bullet = bullet.translate(_TO_FULLWIDTH)
            for i, part in enumerate(wrap(bullet, 36)):
                text = ("・" if i == 0 else "") + part
                pdf.drawString(60 if i == 0 else 70.5, y, _cmap_text(text, encoding))
                lines.append(text)
                y -= 16
            y -= 4
        number = str(first_printed + index)
        if encoding == "H":
            number = number.translate(_TO_FULLWIDTH)
        # CIDFont.stringWidth is 0 without Acrobat's CMap files: centre by hand (digits: 0.5 or 1 em)
        em = 1.0 if encoding == "H" else 0.5
        pdf.setFont(font.fontName, 9)
        pdf.drawString(page_width / 2 - len(number) * em * 9 / 2, 30, _cmap_text(number, encoding))
        lines.append(number)
        expected.append("\n".join(lines))
        pdf.showPage()
    pdf.save()
    return expected


def has_to_unicode(path: Path) -> bool:
    """Whether any font of the PDF carries a /ToUnicode map (reportlab writes uncompressed objects)."""
    from pypdf import PdfReader

    for page in PdfReader(path).pages:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            if "/ToUnicode" in font or any("/ToUnicode" in d.get_object() for d in font.get("/DescendantFonts", [])):
                return True
    return False


# Vertical pages: (title, paragraphs).
_VERTICAL_PAGES = [
    ("相談窓口を設ける目的", [
        "顧客等からの著しい迷惑行為に一人で向き合うことのないよう、会社は相談窓口を設け、就業者に周知します。",
        "店長は、相談を受けたら本社と情報を共有し、組織として対応します。",
    ]),
    ("外部との連携について", [
        "身体への危険がある場合は、直ちに警察に通報してください。",
        "損害賠償などの法的な問題が生じたときは、本社の法務担当が弁護士と協議します。",
    ]),
]


def write_vertical_pdf(path: Path, producer: str = "cid", first_printed: int = 5) -> list[str]:
    """Two pages of vertical writing (縦書き), columns right to left, the page number at the bottom in
    horizontal writing, as in notices and booklets set in 縦書き.

    producer "cid": reportlab CIDFont('HeiseiMin-W3', 'UniJIS-UCS2-V') — a vertical predefined CMap,
    text as UTF-16BE codes, no ToUnicode, one column per text string (what DTP software writes).
    producer "chromium": HTML with CSS `writing-mode: vertical-rl` printed by Chromium (per-glyph
    positioning, vertical punctuation glyphs, a ToUnicode map)."""
    if producer == "chromium":
        pages = []
        for index, (title, paragraphs) in enumerate(_VERTICAL_PAGES):
            body = "".join(f"<p>{html_lib.escape(p)}</p>" for p in paragraphs)
            pages.append(
                f'<section class="page"><div class="vertical"><h1>{html_lib.escape(title)}</h1>{body}</div>'
                f'<div class="folio">{first_printed + index}</div></section>'
            )
        css = (".vertical{writing-mode:vertical-rl;position:absolute;top:25mm;right:25mm;height:230mm;"
               "font-size:13pt;line-height:1.9}.vertical h1{font-size:17pt;margin:0 0 0 8mm}"
               ".vertical p{margin:0;text-indent:1em}"
               ".folio{position:absolute;bottom:12mm;left:0;right:0;text-align:center;font-size:9pt}")
        _print_html(_html_document(css, "".join(pages)), path)
    else:
        _write_vertical_cid(path, first_printed)
    return [
        "\n".join([title, *paragraphs, str(first_printed + index)])
        for index, (title, paragraphs) in enumerate(_VERTICAL_PAGES)
    ]


def _write_vertical_cid(path: Path, first_printed: int) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import CIDFont, UnicodeCIDFont
    from reportlab.pdfgen import canvas

    vertical = CIDFont("HeiseiMin-W3", "UniJIS-UCS2-V")
    horizontal = UnicodeCIDFont("HeiseiKakuGo-W5")
    pdfmetrics.registerFont(vertical)
    pdfmetrics.registerFont(horizontal)
    pdf = canvas.Canvas(str(path), pagesize=A4)
    page_width, page_height = A4
    for index, (title, paragraphs) in enumerate(_VERTICAL_PAGES):
        x = page_width - 70
        top = page_height - 70
        pdf.setFont(vertical.fontName, 17)
        pdf.drawString(x, top, title.encode("utf-16-be").decode("latin-1"))
        x -= 40
        pdf.setFont(vertical.fontName, 13)
        for paragraph in paragraphs:
            for i, column in enumerate(wrap("\u3000" + paragraph, 40)):  # 1-character indent
                text = column.lstrip("\u3000") if i == 0 else column
                y = top - (13 if i == 0 else 0)
                pdf.drawString(x, y, text.encode("utf-16-be").decode("latin-1"))
                x -= 24
        pdf.setFont(horizontal.fontName, 9)
        pdf.drawCentredString(page_width / 2, 30, str(first_printed + index))
        pdf.showPage()
    pdf.save()


# Browser pages: (title, spaced heading, paragraphs as written in the HTML, with radical code points).
_BROWSER_PAGES = [
    ("相談体制の整備", "相談窓口", [
        "店\u2ed1は、就業者から相談を受けたときは、まず話を最後まで聞き、事実関係を記録してください。",
        "本社の窓\u2f1dは、店舗から報告を受けた事案について、対応方針を店長と一緒に検討します。",
        "顧客等からの意\u2f92と不当な要求とを区別し、正当な意見には誠実に対応してください。",
    ]),
    ("外部機関との連携", "連携の手順", [
        "暴力や脅迫があった場合、店\u2ed1は迷わず警察に通報し、本社の相談窓\u2f1dにも連絡してください。",
        "法的な判断が必要な事案は、本社を通じて弁護士に相談します。",
        "通報や相談の経緯は、後から確認できるよう時系列で記録しておきます。",
    ]),
]
_RADICALS = str.maketrans({"\u2ed1": "長", "\u2f1d": "口", "\u2f92": "見"})


def write_browser_pdf(path: Path, printed: tuple[int, ...] = (33, 40)) -> tuple[list[str], list[str]]:
    """Two manual pages (printed numbers `printed`, e.g. 33 and 40) as a word processor exports them,
    printed by Chromium: the heading 「相談窓口」 letter-spaced with CSS (letter-spacing: 0.5em), body
    text holding CJK radical code points as some producers emit them (店⻑ U+2ED1, 窓⼝ U+2F1D,
    意⾒ U+2F92), the six chapter tabs down the right edge, and the printed page number shown at the
    bottom (CSS grid row) but right after the page title in the DOM, so that it follows the title in
    the content stream, as in PDFs whose footer was written together with the header. Returns (expected, raw): `expected` is what a reader sees (unified ideographs 店長 窓口
    意見, no letter-spacing spaces); `raw` is the HTML's text (radicals kept), which is what an
    extractor that follows the producer's ActualText gives, letter-spacing aside."""
    pages, expected, raw = [], [], []
    for index, (title, heading, paragraphs) in enumerate(_BROWSER_PAGES[: len(printed)]):
        number = printed[index]
        tabs = "".join(
            f'<div class="tab{" current" if i == index else ""}"><div>{n}</div><div>{name}</div></div>'
            for i, (n, name) in enumerate(CHAPTER_TABS)
        )
        body = "".join(f"<p>{html_lib.escape(p)}</p>" for p in paragraphs)
        pages.append(
            f'<section class="page grid"><h1>{html_lib.escape(title)}</h1><div class="folio">{number}</div>'
            f'<h2 class="spaced">{html_lib.escape(heading)}</h2><div class="body">{body}</div>'
            f'<nav class="tabs">{tabs}</nav></section>'
        )
        tab_lines = [part for pair in CHAPTER_TABS for part in pair]
        lines = [title, heading, *paragraphs, *tab_lines, str(number)]
        raw.append("\n".join(lines))
        expected.append("\n".join(lines).translate(_RADICALS))
    # Grid placement moves the number to the bottom row; Chromium paints grid items in DOM order.
    css = (".grid{display:grid;grid-template-rows:auto auto 1fr auto}"
           ".page h1{grid-row:1;font-size:16pt;margin:20mm 30mm 6mm 20mm;border-bottom:1px solid #333}"
           ".spaced{grid-row:2;letter-spacing:0.5em;font-size:13pt;margin:0 30mm 3mm 20mm}"
           ".body{grid-row:3}.page p{font-size:10.5pt;line-height:1.7;margin:0 30mm 2mm 20mm}"
           ".folio{grid-row:4;text-align:center;font-size:9pt;padding-bottom:12mm}"
           ".tabs{position:absolute;top:40mm;right:6mm;width:14mm}"
           ".tab{font-size:8pt;text-align:center;border:1px solid #888;margin-bottom:10mm;padding:1mm 0}"
           ".tab.current{background:#ddd}")
    _print_html(_html_document(css, "".join(pages)), path)
    return expected, raw


def _html_document(css: str, body: str) -> str:
    base = ("@page{size:A4;margin:0}body{margin:0;font-family:'Noto Sans CJK JP',sans-serif}"
            ".page{width:210mm;height:297mm;position:relative;overflow:hidden;break-after:page}")
    return f'<!doctype html><html lang="ja"><head><meta charset="utf-8"><style>{base}{css}</style></head><body>{body}</body></html>'


def _print_html(document: str, path: Path) -> None:
    """Print `document` to `path` with headless Chromium; any request that is not inline is aborted."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        raise RuntimeError("Chromium が見つかりません(shutil.which('chromium'))")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.route("**/*", lambda route: route.abort()
                       if not route.request.url.startswith(("data:", "about:")) else route.continue_())
            page.set_content(document, wait_until="load")
            page.pdf(path=str(path), prefer_css_page_size=True, print_background=True)
        finally:
            browser.close()


def expected_manual_text(pages, first_printed: int = 27, width: int = 40) -> list[str]:
    """The text of pdf_fixtures.write_manual_pdf(pages, first_printed, width=width) (default options),
    in drawing order: title, 視 点 box, example, subsection, bullets, paragraph, tabs, page number."""
    result = []
    for index, spec in enumerate(pages):
        lines = [spec.title]
        if spec.viewpoints:
            lines.append("視 点")
            for viewpoint in spec.viewpoints:
                lines.extend(("➢ " if i == 0 else "") + part for i, part in enumerate(wrap(viewpoint, width)))
        if spec.example:
            lines.append(f"【{spec.example}】")
        if spec.subsection:
            lines.append(f"○.{spec.subsection}")
        for bullet in spec.bullets:
            lines.extend(("• " if i == 0 else "") + part for i, part in enumerate(wrap(bullet, width)))
        if spec.paragraph:
            lines.extend(wrap(spec.paragraph, width))
        lines.extend(part for pair in CHAPTER_TABS for part in pair)
        lines.append(str(first_printed + index))
        result.append("\n".join(lines))
    return result


def write_unmapped_pdf(path: Path) -> Path:
    """`write_browser_pdf`'s pages with every font's /ToUnicode map made unreadable, as producers that
    embed subset fonts without a Unicode map write them: the glyphs print, but no extractor can tell
    which characters they are. The key is renamed in place (same length), so the xref stays valid."""
    write_browser_pdf(path)
    path.write_bytes(path.read_bytes().replace(b"/ToUnicode", b"/ToUnicodX"))
    return path
