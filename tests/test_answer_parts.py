"""Answer parts without a model: citation labels, the wording by language, the language of a question,
the organisation's texts in another language, and the answer text rendered from the parts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.answer_parts import (
    AnswerParts,
    WordingError,
    answer_text,
    compose_parts,
    load_wording,
    sentences,
)
from assistant.citations import Citation, citation_labels
from assistant.contacts import ContactsError, load_contacts
from assistant.language import question_language
from assistant.policy import PolicyError, load_policy

ROOT = Path(__file__).resolve().parents[1]
WORDING = ROOT / "prompts" / "extractive.toml"
POLICY = ROOT / "corpus" / "escalation.toml"
CONTACTS = ROOT / "corpus" / "contacts.toml"


def _citation(n: int, quote: str, heading: str = "相談体制の整備(例) › 相談窓口・相談対応者の設置",
              page: int | None = 28) -> Citation:
    return Citation(n, f"c{n}", f"2章 › {heading}", page, quote, "共通マニュアル", "", "2章 未然防止", "相談体制の整備①",
                    heading)


def test_labels_of_passages_under_one_heading_differ_by_their_first_words() -> None:
    citations = [_citation(1, "・会員企業の置かれた状況によりますが、本社と複数の店舗で…"),
                 _citation(2, "小規模な運営をされている会員企業の場合、経営者が…"),
                 _citation(3, "また、客が刑法犯に該当する行為を行っている場合など…")]
    labels = citation_labels(citations)
    assert labels[0] == "[1] 相談窓口・相談対応者の設置 p.28 ─ 会員企業の置かれた状況により…"  # bullet mark dropped
    assert len({label.split("] ", 1)[1] for label in labels}) == 3


def test_labels_grow_until_passages_that_open_alike_read_differently() -> None:
    opening = "相談対応者は、就業者からの相談を受けた場合、"
    citations = [_citation(1, opening + "本社に報告してください。"), _citation(2, opening + "記録を残してください。")]
    first, second = citation_labels(citations)
    assert first.split("] ", 1)[1] != second.split("] ", 1)[1]
    assert "本社" in first and "記録" in second
    assert citation_labels([_citation(1, "短い文", page=None)]) == ["[1] 相談窓口・相談対応者の設置 ─ 短い文"]


def test_the_shipped_wording_has_every_text_in_every_language() -> None:
    wording = load_wording(WORDING)
    assert set(wording) >= {"ja", "en"}
    assert set(wording["ja"]) - {"words"} == set(wording["en"]) - {"words"}


def test_a_language_missing_a_text_is_refused_with_the_keys_named(tmp_path: Path) -> None:
    broken = tmp_path / "extractive.toml"
    broken.write_text(WORDING.read_text(encoding="utf-8") + '\n[de]\norg_heading = "[Hinweis]"\n', encoding="utf-8")
    with pytest.raises(WordingError, match=r"\[de\] に level_banner, what_to_do"):
        load_wording(broken)
    with pytest.raises(WordingError, match="見つかりません"):
        load_wording(tmp_path / "missing.toml")


def test_language_of_every_routing_example_follows_its_writing_style() -> None:
    """Measured on the training split (2,000+ messages; the sealed split is not read): every message
    written in English is English, every other one (simple Japanese and kana included) Japanese."""
    wording = load_wording(WORDING)
    words = {lang: frozenset(t["words"]) for lang, t in wording.items() if lang != "ja"}
    rows = [json.loads(line) for line in (ROOT / "corpus" / "routing_examples.jsonl").open(encoding="utf-8")]
    wrong = [(r["style"], r["text"][:40]) for r in rows
             if question_language(r["text"], words) != ("en" if r["style"] == "english" else "ja")]
    assert sum(r["style"] == "english" for r in rows) > 100 and wrong == []
    assert question_language("The customer yelled 「土下座しろ」 at me. What should I do?", words) == "en"
    assert question_language("12345 !!!", words) == "ja"  # nothing to tell: the texts that always exist


def test_policy_and_contacts_ship_english_for_every_level() -> None:
    policy, contacts = load_policy(POLICY), load_contacts(CONTACTS)
    for level in policy.levels:
        english = policy.level_text(level.id, "en")
        assert english.label != level.label and english.guidance.isascii(), level.id
    assert policy.not_covered_in("en").isascii() and policy.not_covered_in("xx") == policy.not_covered
    english = contacts.in_language("en")
    assert english.head_office.name.isascii() and english.emergency.note.isascii()
    assert english.head_office.email == contacts.head_office.email  # what is not translated is kept
    assert english.emergency.tel == "tel:110" and contacts.in_language("xx") == contacts


def test_a_misspelt_key_in_a_translation_is_an_error(tmp_path: Path) -> None:
    contacts = tmp_path / "contacts.toml"
    contacts.write_text(CONTACTS.read_text(encoding="utf-8").replace(
        'head_office = { name = "Head-office', 'head_offise = { name = "Head-office'), encoding="utf-8")
    with pytest.raises(ContactsError, match="head_offise"):
        load_contacts(contacts)
    policy = tmp_path / "escalation.toml"
    policy.write_text(POLICY.read_text(encoding="utf-8").replace(
        'label = "Urgent"', 'lable = "Urgent"'), encoding="utf-8")
    with pytest.raises(PolicyError, match="lable"):
        load_policy(policy)


def _officer_added_german(tmp_path: Path) -> tuple[Path, Path, Path]:
    """What an officer adds to offer German: a wording table, level texts and contact texts."""
    wording = load_wording(WORDING)
    german = {**wording["en"], "words": ["der", "die", "das", "ich", "und", "kunde", "mich", "hat"],
              "org_heading": "[Hinweis Ihrer Organisation]", "whom_to_contact": "Ansprechpartner",
              "head_office": "Zentrale"}
    prompts = tmp_path / "extractive.toml"
    shutil.copy(WORDING, prompts)
    with prompts.open("a", encoding="utf-8") as fp:
        fp.write("\n[de]\n" + "".join(f"{k} = {json.dumps(v, ensure_ascii=False)}\n" for k, v in german.items()))
    policy = tmp_path / "escalation.toml"
    text = POLICY.read_text(encoding="utf-8")
    for level in load_policy(POLICY).levels:
        marker = f'id = "{level.id}"\n'
        head, tail = text.split(marker, 1)
        table = f'[levels.text.de]\nlabel = "Stufe {level.id}"\nroute = "Weg {level.id}"\nguidance = "Bitte handeln. Sofort."\n'
        cut = tail.index("[levels.text.en]")
        text = head + marker + tail[:cut] + table + tail[cut:]
    policy.write_text(text + '\n[text.de]\nnot_covered = "Dazu steht nichts im Handbuch."\n', encoding="utf-8")
    contacts = tmp_path / "contacts.toml"
    contacts.write_text(CONTACTS.read_text(encoding="utf-8")
                        + '\n[text.de]\nhead_office = { name = "Beschwerdestelle der Zentrale" }\n', encoding="utf-8")
    return prompts, policy, contacts


def test_officers_add_a_language_as_data(tmp_path: Path) -> None:
    prompts, policy_path, contacts_path = _officer_added_german(tmp_path)
    wording, policy, contacts = load_wording(prompts), load_policy(policy_path), load_contacts(contacts_path)
    words = {lang: frozenset(t["words"]) for lang, t in wording.items() if lang != "ja"}
    question = "Ein Kunde hat mich angeschrien und die Kollegin bedroht. Was soll ich tun?"
    assert question_language(question, words) == "de"
    assert question_language("A customer threatened me. What should I do?", words) == "en"
    quote = _citation(1, "また、客が刑法犯に該当する行為を行っている場合など…")
    parts = compose_parts(policy.level_text("urgent", "de"), True, [quote], ["理由"], contacts.in_language("de"),
                          wording["de"], "de")
    assert (parts.level.label, parts.guidance) == ("Stufe urgent", ("Bitte handeln.", "Sofort."))
    text = answer_text(parts, wording["de"])
    assert text.startswith("[Hinweis Ihrer Organisation]\n[Stufe urgent] Weg urgent\n・Bitte handeln.")
    assert "・Zentrale: Beschwerdestelle der Zentrale" in text and f"「{quote.quote}」[1]" in text


def test_parts_round_trip_through_json_and_render_the_text() -> None:
    wording, policy, contacts = load_wording(WORDING), load_policy(POLICY), load_contacts(CONTACTS)
    quotes = [_citation(1, "現場監督者(例:店長)1名を相談対応者として設置してください。")]
    parts = compose_parts(policy.level_text("consult", "ja"), True, quotes, ["「相談」の確率 90%"], contacts,
                          wording["ja"], "ja")
    assert AnswerParts.from_json(json.loads(json.dumps(parts.to_json(), ensure_ascii=False))) == parts
    assert [c.kind for c in parts.contacts] == ["onsite", "small_business"]
    assert parts.contacts_note == wording["ja"]["example_note"]  # the shipped on-site contacts are examples too
    text = answer_text(parts, wording["ja"]).splitlines()
    assert text[:2] == ["【組織の案内】", "【相談】現場の相談対応者(店長など)に相談"]
    assert text[2:4] == [f"・{s}" for s in sentences(policy.level("consult").guidance)]
    assert text[-2:] == ["マニュアルの該当箇所:", f"「{quotes[0].quote}」[1]"]
    unanswered = compose_parts(policy.level_text("none", "ja"), False, [], [], contacts, wording["ja"], "ja",
                               not_covered=policy.not_covered, topic_gap=("録音", "3章 発生時"))
    lines = answer_text(unanswered, wording["ja"]).splitlines()
    assert "【情報】" not in "".join(lines)  # nothing answered: no level banner, the desk instead
    assert "・「録音」はマニュアルの3章 発生時で扱われていますが、まだ取り込まれていません。" in lines
    assert [c.kind for c in unanswered.contacts] == ["head_office"] and lines[-1] == wording["ja"]["example_note"]
