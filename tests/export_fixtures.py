"""Page-text exports of a document site, in the two layouts seen in real exports of the manual.

Written by the team with fictitious page text; only the shape follows the real exports:
- layout "table" (like the shipped seed): the site name, the title line 「…マニュアル (NN ページ)」, 出典,
  `公開元URL | … |` and `出典情報 | … |`, ページ画像 and its notes, プレーンテキスト, the disclaimer,
  then the page text twice, each copy followed by the chapter tabs and the printed page number;
- layout "plain": the site name and a one-sentence banner split over blank lines, the title line,
  `公開元URL https://…` and `出典情報 …` without the table, the disclaimer, then the page text with
  blank lines anywhere (bullet marks dropped, wraps split), the chapter tabs where the PDF put them.
The site lines differ from the real site's words on purpose: reading must not depend on them.
"""

from __future__ import annotations

from dataclasses import dataclass

MANUAL_URL = "https://www.hataraku.metro.tokyo.lg.jp/plan/kasuharamanual_20250304.pdf"
SITE_TITLE = "カスタマー・ハラスメント防止のための 各団体共通マニュアル"
TABS = ["1章", "総論", "2章", "未然防止", "3章", "発生時", "4章", "発生後", "5章", "企業間", "6章", "その他"]


@dataclass(frozen=True)
class ExportPage:
    page: int
    title: str
    viewpoint: tuple[str, str]  # one viewpoint, hard-wrapped into two lines
    example: str
    subsection: str
    bullets: tuple[tuple[str, ...], ...]  # each bullet's lines (a wrap splits words: 組織横 / 断的)


PAGES = [
    ExportPage(
        page=33,
        title="判断の手順①",
        viewpoint=("➢ 就業者が一人で判断せず、店舗の責任者と本部の窓口が同じ基準で判断できるよう、手順", "を共有しておくことが大切です。"),
        example="判断の手順(例)",
        subsection="判断の基準",
        bullets=(
            ("要求の内容に根拠があるか、要求を実現する手段が社会通念上相当かを、順に確かめてください。",),
            ("大声や威圧的な態度が続く場合は、店舗の責任者が対応を引き継ぎ、必要に応じて本部の相談窓", "口に連絡してください。"),
        ),
    ),
    ExportPage(
        page=40,
        title="警察との連携④",
        viewpoint=("➢ 暴行や脅迫のおそれがあるときは、ためらわずに110番通報することが重要です。通報の", "判断は現場の責任者に任されます。"),
        example="警察との連携(例)",
        subsection="通報の判断",
        bullets=(
            ("就業者の身の安全を最優先とし、危険を感じたら、その場を離れて責任者に知らせてください。",),
            ("通報後は、本部の相談窓口が弁護士と連携し、被害届の提出などを就業者と一緒に検討してくだ", "さい。"),
        ),
    ),
    ExportPage(
        page=55,
        title="就業者のケア①",
        viewpoint=("➢ 被害を受けた就業者の心身の回復を支えるため、相談先と休養の取り方をあらかじめ決めて", "おくことが推奨されます。"),
        example="就業者のケア(例)",
        subsection="相談先の案内",
        bullets=(
            ("被害を受けた就業者には、産業医やカウンセラーなど、社内外の相談先を案内してください。",),
            ("店舗の責任者は、就業者の勤務を一時的に調整し、同じ顧客等への対応から外してください。",),
        ),
    ),
]


def table_layout(page: ExportPage) -> str:
    """Layout "table": the header with `|` fields, then two copies of the text (tabs + number after each)."""
    header = [
        "まなびのひろば。",
        f"{SITE_TITLE} ({page.page} ページ)",
        "出典",
        f"公開元URL | {MANUAL_URL} |",
        "出典情報 | カスタマー・ハラスメント防止のための各団体共通マニュアル《東京都》 |",
        "ページ画像",
        "ダウンロードした画像を利用する際は「出典情報」を明記してください。",
        "低解像度画像をダウンロード",
        "プレーンテキスト",
        "資料テキストはコンピュータによる自動処理で生成されており、完全に資料と一致しない場合があります。",
        "テキストをコピーしてご利用いただく際は資料と付け合わせてご確認ください。",
    ]
    body = _body(page, bullet_mark="•")
    return "\n".join(header + [page.title] + body + TABS + [str(page.page)] + body + TABS + [str(page.page)])


def plain_layout(page: ExportPage) -> str:
    """Layout "plain": a banner over blank lines, fields without `|`, blank lines inside the text."""
    header = [
        "まなびのひろば。", "",
        "ひろばは、働く人のための法令・指針・手引きを集めて、", "",
        "読みやすく届けるサイトです。", "", "",
        f"{SITE_TITLE} ({page.page} ページ)", "",
        f"公開元URL {MANUAL_URL}",
        "出典情報 カスタマー・ハラスメント防止のための各団体共通マニュアル《東京都》",
        "低解像度画像をダウンロード", "",
        "資料テキストはコンピュータによる自動処理で生成されており、完全に資料と一致しない場合があります。",
        "テキストをコピーしてご利用いただく際は資料と付け合わせてご確認ください。", "",
    ]
    body = []
    for line in _body(page, bullet_mark=""):
        body.extend([line, ""] if line else ["", ""])  # blank lines anywhere, even inside a wrapped bullet
    middle = len(body) // 2
    body[middle:middle] = ["1章", "総論", "", ""]  # tabs where the PDF put them, mid-text
    return "\n".join(header + [page.title] + body + [str(page.page), ""])


def _body(page: ExportPage, bullet_mark: str) -> list[str]:
    lines = ["視 点", *page.viewpoint, f"【{page.example}】", f"○.{page.subsection}"]
    for bullet in page.bullets:
        lines.append(bullet_mark)  # the site puts the mark on a line of its own; layout "plain" drops it
        lines.extend(bullet)
    return lines


def joined(lines: tuple[str, ...]) -> str:
    """A bullet or viewpoint as the index should quote it: wraps joined, marker dropped."""
    return "".join(lines).removeprefix("➢ ")
