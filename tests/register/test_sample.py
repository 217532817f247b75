"""The synthetic municipality: valid, realistic, reproducible, and encodable as CP932."""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from ballots.model import ElectionDefinition, ElectionKind, StationKind
from ballots.register import read_register
from ballots.sample import (
    BUILDINGS,
    FAMILY_NAMES,
    FEMALE_NAMES,
    MALE_NAMES,
    SCENARIOS,
    TOWNS,
    SampleError,
    generate_sample,
    template_path,
)
from ballots.staff import verify_pin
from ballots.wareki import era_yymmdd

from .conftest import Built


def test_every_generated_string_is_cp932() -> None:
    pools = [n for n, _, _ in FAMILY_NAMES + MALE_NAMES + FEMALE_NAMES]
    pools += [k for _, k, _ in FAMILY_NAMES + MALE_NAMES + FEMALE_NAMES]
    for text in [*pools, *TOWNS, *BUILDINGS]:
        text.encode("cp932")


def test_template_is_a_valid_election_definition() -> None:
    definition = ElectionDefinition.from_toml_dict(tomllib.loads(template_path().read_text("utf-8")))
    kinds = {e.kind for e in definition.elections}
    assert ElectionKind.NATIONAL in kinds and ElectionKind.MUNICIPAL in kinds
    starts = {e.short_name: e.early_voting_start for e in definition.elections}
    assert starts["国民審査"] > starts["小選挙区"]


def test_sample_contents(built: Built) -> None:
    d = built.sample.out_dir
    definition = ElectionDefinition.from_toml_dict(tomllib.loads((d / "election.toml").read_text("utf-8")))
    voters = read_register(d / "register.csv", [p.code for p in definition.precincts])
    assert len(voters) == 600
    assert {s.kind for s in definition.stations} == {StationKind.EARLY, StationKind.DAY, StationKind.COMMON}
    assert all(definition.day_station_for(p.code) for p in definition.precincts)
    # staff PINs in the README verify against the hashes in election.toml
    for staff in definition.staff:
        assert verify_pin(staff.pin_hash, built.sample.staff_pins[staff.id])
        assert built.sample.staff_pins[staff.id] in (d / "README.txt").read_text("utf-8")
    assert {s.role.value for s in definition.staff} == {"clerk", "manager"}
    # the register's realism
    assert all(date(1920, 1, 1) <= v.birth_date <= date(2008, 12, 14) for v in voters)
    assert any(v.address_extra for v in voters)
    moved = [v for v in voters if v.moved]
    assert {frozenset(v.barred_kinds) for v in moved} >= {
        frozenset({ElectionKind.MUNICIPAL}),
        frozenset({ElectionKind.PREFECTURAL, ElectionKind.MUNICIPAL}),
    }
    assert any(v.absentee for v in voters)
    same = Counter((v.birth_date, v.sex, v.address, v.address_extra) for v in voters)
    assert max(same.values()) >= 2  # twins: ambiguous matches exist
    assert any(ch in v.name for v in voters for ch in "髙﨑邊邉齋齊德濵濱")
    assert any(v.age_on(definition.election_day) == 18 and v.age_on(date(2026, 12, 2)) == 17 for v in voters)


def test_personas(built: Built) -> None:
    personas = [json.loads(p.read_text("utf-8")) for p in built.sample.personas]
    assert len(personas) == 12
    assert {p["scenario"] for p in personas} == set(SCENARIOS) | {"plain"}
    for p, path in zip(personas, built.sample.personas, strict=True):
        assert set(p) >= {"name", "kana", "address", "birth_date", "sex", "expiry", "security_code", "pin"}
        birth, expiry = date.fromisoformat(p["birth_date"]), date.fromisoformat(p["expiry"])
        assert expiry > date(2026, 12, 13)
        assert p["collation_b"] == f"{era_yymmdd(birth)}{expiry.year}{p['security_code']}"
        assert len(p["collation_b"]) == 14 and p["collation_b"].isdigit()
        assert p["sex"] in ("1", "2", "9") and len(p["pin"]) == 4
        assert "\u3000" in p["name"]
        photo = path.parent / p["photo"]
        assert 500 < photo.stat().st_size < 8000
        with Image.open(photo) as img:
            assert img.format == "JPEG2000" and img.mode == "L"
    by = {p["scenario"]: p for p in personas}
    assert by["sex_unspecified"]["sex"] == "9"
    assert by["not_registered"]["register_code"] is None
    variant = by["address_written_differently"]["address"]
    assert any(f"{k}丁目" in variant for k in "一二三四五六七八九十") and "－" in variant


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = generate_sample(tmp_path / "a", 200, seed=3, personas=3)
    b = generate_sample(tmp_path / "b", 200, seed=3, personas=3)
    c = generate_sample(tmp_path / "c", 200, seed=4, personas=3)
    files = sorted(p.relative_to(a.out_dir) for p in a.out_dir.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b.out_dir) for p in b.out_dir.rglob("*") if p.is_file())
    for f in files:
        assert (a.out_dir / f).read_bytes() == (b.out_dir / f).read_bytes(), f
    assert (a.out_dir / "register.csv").read_bytes() != (c.out_dir / "register.csv").read_bytes()


def test_election_day_moves_every_date(tmp_path: Path) -> None:
    s = generate_sample(tmp_path, 100, personas=0, election_day=date(2027, 7, 4))
    definition = ElectionDefinition.from_toml_dict(tomllib.loads((s.out_dir / "election.toml").read_text("utf-8")))
    assert definition.election_day == date(2027, 7, 4)
    assert min(e.early_voting_start for e in definition.elections) == date(2027, 6, 23)  # 11 days before, as in 2026
    assert not (s.out_dir / "personas").exists()


@pytest.mark.parametrize(("voters", "personas", "message"), [(10, 1, "at least 50"), (100, -1, "must not be negative")])
def test_bad_arguments(tmp_path: Path, voters: int, personas: int, message: str) -> None:
    with pytest.raises(SampleError, match=message):
        generate_sample(tmp_path, voters, personas=personas)


def test_template_with_a_prefectural_election(tmp_path: Path) -> None:
    text = template_path().read_text("utf-8").replace("election_day = 2026-12-13", 'election_day = "2026-12-13"')
    text += (
        '\n[[elections]]\nid = "chiji"\nkind = "県"\nname = "東京都知事選挙"\nshort_name = "知事選挙"\norder = 5\n'
        'early_voting_start = "2026-12-03"\n'
    )
    (tmp_path / "t.toml").write_text(text, encoding="utf-8")
    s = generate_sample(
        tmp_path / "out", 100, personas=0, template=tmp_path / "t.toml", election_day=date(2026, 12, 20)
    )
    definition = ElectionDefinition.from_toml_dict(tomllib.loads((s.out_dir / "election.toml").read_text("utf-8")))
    assert definition.election("chiji").kind is ElectionKind.PREFECTURAL
    assert definition.election("chiji").early_voting_start == date(2026, 12, 10)
    assert definition.election_day == date(2026, 12, 20)


def test_bad_template(tmp_path: Path) -> None:
    (tmp_path / "t.toml").write_text('election_day = "2026-12-13"\n', encoding="utf-8")
    with pytest.raises(SampleError, match=r"not a valid election\.toml"):
        generate_sample(tmp_path / "out", 100, template=tmp_path / "t.toml")
