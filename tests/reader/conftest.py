"""Personas for the reader tests: a persona JSON and a small greyscale JPEG 2000 photo, made here with Pillow."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

PERSONA: dict[str, Any] = {
    "register_code": "139999000000123",
    "name": "髙橋　太郎",
    "kana": "タカハシ　タロウ",
    "address": "東京都架空市本町１丁目２番３号",
    "birth_date": "1980-02-17",
    "sex": "1",
    "expiry": "2030-02-17",
    "security_code": "2285",
    "pin": "1234",
    "collation_b": "55021720302285",
}


def make_photo(path: Path, size: tuple[int, int] = (48, 60)) -> None:
    """A small greyscale face-like JPEG 2000 image."""
    img = Image.new("L", size, 200)
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.ellipse((w // 6, h // 8, w - w // 6, h - h // 4), fill=120)
    draw.rectangle((0, h - h // 5, w, h), fill=60)
    img.save(path, format="JPEG2000", irreversible=True, quality_mode="rates", quality_layers=[8])


@pytest.fixture
def make_persona(tmp_path: Path) -> Callable[..., Path]:
    """Write a persona JSON (with overrides) and its photo under tmp_path; return the JSON's path."""
    counter = 0

    def make(photo_size: tuple[int, int] = (48, 60), **overrides: Any) -> Path:
        nonlocal counter
        counter += 1
        photos = tmp_path / "photos"
        photos.mkdir(exist_ok=True)
        make_photo(photos / f"{counter:06d}.jp2", photo_size)
        data = {**PERSONA, "photo": f"photos/{counter:06d}.jp2", **overrides}
        path = tmp_path / f"persona{counter}.json"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        return path

    return make


@pytest.fixture
def persona_path(make_persona: Callable[..., Path]) -> Path:
    """The default persona."""
    return make_persona()
