"""Card read figures: APDUs and bytes per path, reader software time with the link excluded, and the full read time
through pcscd + vpcd with the 424 kbit/s latency model. Prints one JSON object.

    .venv/bin/python bench/reader_paths.py [--runs N] [--no-pcscd]

Baselines measured in the same run: a naive reader that reads every file whole in 256-byte chunks (APDU ratio), and
Pillow decoding the photo alone (the floor of the software time).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reader.apdu import LinkCapabilities
from reader.outcomes import Outcome
from reader.service import CardReader, CardSession, decode_photo
from reader.softcard import LinkLatency, Persona, SoftwareCard
from reader.transport import Connection, Exchange, TracingTransport

BIRTH = date(1980, 2, 17)
GOAL_APDUS = 30
GOAL_SOFTWARE_MS = 20.0


def make_persona(directory: Path, photo_bytes: int) -> Path:
    """A persona with a greyscale JPEG 2000 photo of about ``photo_bytes`` bytes (card photos are a few KB)."""
    img = Image.new("L", (300, 400), 190)
    d = ImageDraw.Draw(img)
    d.ellipse((60, 50, 240, 300), fill=140)
    d.ellipse((100, 140, 130, 160), fill=40)
    d.ellipse((170, 140, 200, 160), fill=40)
    d.rectangle((0, 330, 300, 400), fill=70)
    pixels = 300 * 400
    rate = pixels / photo_bytes  # compression ratio Pillow aims for
    photo = directory / f"photo{photo_bytes}.jp2"
    img.save(photo, format="JPEG2000", irreversible=True, quality_mode="rates", quality_layers=[rate])
    persona = {
        "name": "髙橋　太郎",
        "kana": "タカハシ　タロウ",
        "address": "東京都架空市本町１丁目２番３号　架空マンション１０１号室",
        "birth_date": "1980-02-17",
        "sex": "1",
        "expiry": "2030-02-17",
        "security_code": "2285",
        "pin": "1234",
        "collation_b": "55021720302285",
        "photo": photo.name,
    }
    path = directory / f"persona{photo_bytes}.json"
    path.write_text(json.dumps(persona, ensure_ascii=False), encoding="utf-8")
    return path


def _photo_after_pin(s: CardSession) -> Outcome:
    s.read_with_pin("1234")
    return s.read_photo(BIRTH, "2285")


PATHS: dict[str, Callable[[CardSession], Outcome]] = {
    "path1_pin": lambda s: s.read_with_pin("1234"),
    "path2_collation_b_photo_expiry_from_card": lambda s: s.read_with_collation(BIRTH, "2285"),
    "path2_collation_b_photo_expiry_typed": lambda s: s.read_with_collation(BIRTH, "2285", 2030),
    "path2_collation_b_no_photo": lambda s: s.read_with_collation(BIRTH, "2285", 2030, photo=False),
    "photo_after_path1": _photo_after_pin,
}


class Replay:
    """Answers a recorded trace in order at no cost: timing the reader against it leaves only the reader's software
    (APDU building, the Le dialogue, TLV parsing, text decoding and the photo's JPEG 2000 decode)."""

    def __init__(self, trace: list[Exchange]) -> None:
        self.trace = trace
        self.next = 0

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        ex = self.trace[self.next]
        if ex.command != apdu:
            raise AssertionError(f"replay diverged at command #{self.next}")
        self.next += 1
        return ex.data, ex.sw

    def close(self) -> None:
        pass


def trace_of(
    card: SoftwareCard, run: Callable[[CardSession], Outcome], extended: bool
) -> tuple[list[Exchange], Outcome]:
    traces: list[TracingTransport] = []

    def connect() -> Connection:
        t = TracingTransport(card.connector()())
        traces.append(t)
        return t

    with CardReader(connect, extended_length=extended).session() as s:
        outcome = run(s)
    return [ex for t in traces for ex in t.trace], outcome


def naive_apdus(persona: Persona, path: str) -> int:
    """APDUs of a straightforward reader: same SELECT/VERIFY steps, then each file read whole in 256-byte chunks."""
    card = SoftwareCard.from_data(persona)
    card.power_on()
    text_len = _file_len(card, bytes.fromhex("D3921000310001010408"), 0x0002)
    face_len = _file_len(card, bytes.fromhex("D3921000310001010402"), 0x0002)
    chunks = lambda n: -(-n // 256)  # noqa: E731
    common = 3
    text = 5 + chunks(text_len)
    face = 5 + chunks(face_len)
    return {
        "path1_pin": text,
        "path2_collation_b_photo_expiry_from_card": common + text + face,
        "path2_collation_b_photo_expiry_typed": text + face,
        "path2_collation_b_no_photo": text,
        "photo_after_path1": text + face + common,
    }[path]


def _file_len(card: SoftwareCard, aid: bytes, fid: int) -> int:
    # The encoded length of the outer TLV, straight from the card model (benchmark bookkeeping only).
    app = card._apps[aid]
    from reader.tlv import parse_header

    data = app.files[fid].data
    assert isinstance(data, bytes)
    _t, hlen, vlen = parse_header(data)
    return hlen + vlen


def median_ms(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(samples), 3)


def software_figures(persona_path: Path, runs: int, extended: bool) -> dict[str, object]:
    persona = Persona.from_file(persona_path)
    out: dict[str, object] = {}
    for name, run in PATHS.items():
        card = SoftwareCard.from_data(persona, collation_tries=15, pin_tries=15)
        trace, outcome = trace_of(card, run, extended)
        assert outcome.ok, (name, outcome)

        def reader_only() -> None:
            replay = Replay(trace)  # noqa: B023
            caps = LinkCapabilities(extended)
            outcome = run(CardSession(lambda: replay, caps=caps))  # noqa: B023
            assert outcome.ok and replay.next == len(replay.trace)

        def in_process() -> None:
            with CardReader(card.connector(), extended_length=extended).session() as s:  # noqa: B023
                run(s)  # noqa: B023

        naive = naive_apdus(persona, name)
        out[name] = {
            "apdus": len(trace),
            "bytes_on_link": sum(ex.wire_bytes for ex in trace),
            "read_binary_commands": sum(1 for ex in trace if ex.command[1] == 0xB0),
            "naive_reader_apdus": naive,
            "apdu_ratio_vs_naive": round(len(trace) / naive, 3),
            "reader_software_ms_median": median_ms(reader_only, runs),
            "in_process_with_soft_card_ms_median": median_ms(in_process, runs),
        }
    decode = median_ms(lambda: decode_photo(persona.photo), runs)
    out["baseline_pillow_photo_decode_ms_median"] = decode
    p2 = out["path2_collation_b_photo_expiry_from_card"]
    assert isinstance(p2, dict)
    out["path2_software_ms_ratio_vs_photo_decode"] = round(p2["reader_software_ms_median"] / decode, 2)
    return out


def pcscd_figures(persona_path: Path, runs: int) -> dict[str, object]:
    from reader.pcsc import PcscConnector
    from reader.vpcd import VpcdCard

    out: dict[str, object] = {}
    modes = (
        ("no_latency_model_extended_length", None, True),
        ("latency_424kbps_2ms_per_apdu_extended_length", LinkLatency(), True),
        ("latency_424kbps_2ms_per_apdu_short_apdus_only", LinkLatency(), False),
    )
    for label, latency, extended in modes:
        card = SoftwareCard.from_persona(persona_path, collation_tries=15, pin_tries=15, latency=latency)
        link = VpcdCard(card)
        link.insert()
        try:
            reader = CardReader(PcscConnector("Virtual PCD 00 00"), extended_length=extended)
            deadline = time.monotonic() + 5
            while not reader.read_with_pin("1234").ok:
                if time.monotonic() > deadline:
                    raise RuntimeError("pcscd does not see the virtual card")
                time.sleep(0.1)
            figures = {}
            for name, run in PATHS.items():

                def full() -> None:
                    with reader.session() as s:  # noqa: B023
                        assert run(s).ok  # noqa: B023

                figures[name + "_ms_median"] = median_ms(full, runs)
            out[label] = figures
        finally:
            link.remove()
            time.sleep(1.0)  # let pcscd's presence poll see the reader empty before the next insert
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-pcscd", action="store_true", help="skip the pcscd + vpcd figures")
    args = parser.parse_args()
    result: dict[str, object] = {
        "goal": {"path2_with_photo_apdus_max": GOAL_APDUS, "software_ms_max": GOAL_SOFTWARE_MS}
    }
    result["load_average_at_start"] = list(os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        by_size: dict[str, object] = {}
        for size in (2000, 3000, 4000, 6000):
            persona_path = make_persona(Path(tmp), size)
            photo_len = len(Persona.from_file(persona_path).photo)
            entry: dict[str, object] = {"photo_bytes": photo_len}
            for mode, extended in (("extended_length", True), ("short_apdus_only", False)):
                figures = software_figures(persona_path, args.runs, extended)
                p2 = figures["path2_collation_b_photo_expiry_from_card"]
                assert isinstance(p2, dict)
                figures["meets_apdu_goal"] = p2["apdus"] <= GOAL_APDUS
                figures["meets_software_goal"] = p2["reader_software_ms_median"] <= GOAL_SOFTWARE_MS
                entry[mode] = figures
            by_size[f"photo_{size}B_target"] = entry
        result["in_process"] = by_size
        pcscd_up = Path("/run/pcscd/pcscd.comm").exists() and not args.no_pcscd
        if pcscd_up:
            result["through_pcscd_vpcd"] = {
                "photo_bytes": len(Persona.from_file(make_persona(Path(tmp), 3000)).photo),
                **pcscd_figures(make_persona(Path(tmp), 3000), max(3, args.runs // 3)),
            }
        else:
            result["through_pcscd_vpcd"] = "skipped (pcscd not running or --no-pcscd)"
    result["load_average_at_end"] = list(os.getloadavg())
    json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
