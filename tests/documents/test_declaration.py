"""The 宣誓書: its text as poppler extracts it, every page rendering cleanly, and bad input refused."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from documents_support import definition_dict, make_voter
from hypothesis import given, settings
from hypothesis import strategies as st

from ballots.declaration import DeclarationError, render_declaration
from ballots.events import REASONS
from ballots.model import DeclarationLayout, ElectionDefinition

VOTING_DAY = date(2026, 12, 5)
AT = datetime(2026, 12, 5, 1, 30, tzinfo=UTC)  # 10:30 JST


def _squash(text: str) -> str:
    """pdftotext spaces out justified Japanese and breaks long lines: compare without whitespace."""
    return "".join(text.split())


@pytest.mark.parametrize("reason", [1, 2, 3, 4, 5, 6])
def test_prefilled_form_carries_voter_data_wording_and_marked_reason(
    definition: ElectionDefinition, pdf_text: Callable[..., str], reason: int
) -> None:
    voter = make_voter(123, address_extra="架空マンション１０１号", name="髙橋　太郎")
    pdf = render_declaration(
        definition, voter=voter, voting_date=VOTING_DAY, reason=reason, station=definition.station("E01"), printed_at=AT
    )
    flat = _squash(pdf_text(pdf))
    text = pdf_text(pdf, layout=True)
    for expected in (
        "宣誓書",
        "私は、選挙の当日、次の事由に該当する見込みであることを宣誓します。",
        "衆議院小選挙区選出議員選挙",
        "衆議院比例代表選出議員選挙",
        "最高裁判所裁判官国民審査",
        "令和8年12月13日",  # election day
        "宣誓年月日令和8年12月5日",
        "東京都架空市本町１丁目２番３号架空マンション１０１号",
        "タカハシタロウ123",
        "髙橋太郎",  # old-form kanji kept as registered
        "昭和55年2月17日",
        "001第1投票区",
        "第1冊7頁4行",
        "架空市選挙管理委員会委員長様",
        "署名",
        "市役所本庁舎期日前投票所",
    ):
        assert expected in flat, expected
    for wording in REASONS.values():
        assert _squash(wording) in flat
    # The chosen reason's row (its number first on the line) carries the 該当 mark, and no other row does.
    marked = [line.split()[0] for line in text.splitlines() if "該当" in line.split()]
    assert marked == [str(reason)]
    assert "再印刷" not in flat


def test_blank_form_for_handwriting_has_no_voter_data_and_no_mark(
    definition: ElectionDefinition, pdf_text: Callable[..., str], render_pages: Callable[[bytes], int]
) -> None:
    layout = replace(definition.declaration, prefill=False)
    voter = make_voter(7)
    pdf = render_declaration(definition, voter=voter, voting_date=None, layout=layout, printed_at=AT)
    flat = _squash(pdf_text(pdf))
    assert "該当する番号を一つ○で囲んでください" in flat
    assert "該当" not in flat.replace("該当する", "")
    for private in (voter.name.replace("　", ""), voter.kana.replace("　", ""), voter.code, "昭和55年"):
        assert private not in flat
    assert "令和年月日" in flat  # 宣誓年月日 left for the pen
    assert render_pages(pdf) == 1


@pytest.mark.parametrize(("paper", "width_pt"), [("A4", 595), ("A5", 420)])
def test_paper_size_and_elections_from_the_layout(
    definition: ElectionDefinition,
    pdf_text: Callable[..., str],
    render_pages: Callable[[bytes], int],
    paper: str,
    width_pt: int,
) -> None:
    layout = DeclarationLayout(
        title="期日前投票宣誓書",
        heading="私は、下記の事由に該当すると見込まれることを宣誓します。",
        paper=paper,
        elections=("shinsa",),
    )
    pdf = render_declaration(definition, voter=make_voter(1), voting_date=VOTING_DAY, reason=2, layout=layout)
    assert render_pages(pdf) == 1
    flat = _squash(pdf_text(pdf))
    assert "期日前投票宣誓書" in flat and "下記の事由に該当すると見込まれる" in flat
    assert "最高裁判所裁判官国民審査" in flat and "衆議院小選挙区選出議員選挙" not in flat
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, text=False).stdout.decode()
    size = next(line for line in info.splitlines() if line.startswith("Page size:"))
    assert round(float(size.split()[2])) == width_pt, size


def test_reprint_is_marked(definition: ElectionDefinition, pdf_text: Callable[..., str]) -> None:
    pdf = render_declaration(definition, voter=make_voter(2), voting_date=VOTING_DAY, reason=1, reprint=True)
    assert "再印刷" in _squash(pdf_text(pdf))


def test_pages_render_without_warnings_and_fonts_are_embedded(
    definition: ElectionDefinition, render_pages: Callable[[bytes], int]
) -> None:
    pdf = render_declaration(definition, voter=make_voter(3), voting_date=VOTING_DAY, reason=6, reprint=True)
    assert render_pages(pdf) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reason": 7}, "reason"),
        ({"reason": 0}, "reason"),
        ({"voting_date": date(2026, 12, 13)}, "voting_date"),
        ({"layout": DeclarationLayout(paper="B5")}, "declaration.paper"),
        ({"layout": DeclarationLayout(elections=("nope",))}, "declaration.elections"),
        ({"voter": make_voter(4, precinct="999")}, "投票区"),
    ],
)
def test_bad_input_is_refused_with_the_field_named(
    definition: ElectionDefinition, kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {"voter": make_voter(4), "voting_date": VOTING_DAY, "reason": 1}
    args.update(kwargs)
    with pytest.raises(DeclarationError, match=message):
        render_declaration(definition, **args)  # type: ignore[arg-type]


@settings(max_examples=15, deadline=None)
@given(
    name=st.text(alphabet="髙橋﨑邊齋德濵山田花子太郎ヶ々〆", min_size=1, max_size=12),
    extra=st.text(alphabet="０１２３４５６７８９ABCー号室棟<>&\"'", max_size=20),
)
def test_any_register_text_prints_and_survives_extraction(
    definition: ElectionDefinition, pdf_text: Callable[..., str], name: str, extra: str
) -> None:
    """Names and 方書 come from municipal exports: markup characters and rare kanji must print as they are."""
    voter = make_voter(9, name=name, address_extra=extra)
    flat = _squash(pdf_text(render_declaration(definition, voter=voter, voting_date=VOTING_DAY, reason=3)))
    assert name in flat
    assert _squash(extra) in flat


@pytest.mark.parametrize("count", [1, 4, 5, 9])
def test_up_to_nine_elections_fit_on_the_page(
    pdf_text: Callable[..., str], render_pages: Callable[[bytes], int], count: int
) -> None:
    names = [
        "県議会議員選挙",
        "市議会議員選挙",
        "知事選挙",
        "市長選挙",
        "衆議院小選挙区選出議員選挙",
        "衆議院比例代表選出議員選挙",
        "最高裁判所裁判官国民審査",
        "参議院選挙区選出議員選挙",
        "参議院比例代表選出議員選挙",
    ][:count]
    kinds = ["県", "市", "県", "市", "国", "国", "国", "国", "国"]
    elections = [
        {"id": f"e{i}", "kind": kinds[i], "name": n, "order": i + 1, "early_voting_start": "2026-12-02"}
        for i, n in enumerate(names)
    ]
    definition = ElectionDefinition.from_toml_dict(definition_dict(elections=elections))
    pdf = render_declaration(definition, voter=make_voter(8), voting_date=VOTING_DAY, reason=5)
    assert render_pages(pdf) == 1
    flat = _squash(pdf_text(pdf))
    assert all(n in flat for n in names)
    # nothing is drawn off the page: every word's box lies inside the A4 page (842 pt tall)
    bbox = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True).stdout.decode()
    bottoms = [float(x.split('"')[0]) for x in bbox.split('yMax="')[1:]]
    assert bottoms and max(bottoms) < 842 - 10
    assert "事務処理欄" in flat
