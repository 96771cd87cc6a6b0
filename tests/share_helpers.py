"""Helpers for the sharing tests: decode QR codes, read the emulator's counters, make a
product picture, and give each test a media directory of its own."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import requests
import zxingcpp
from flask import Flask
from PIL import Image

from wxdist.core.extensions import db
from wxdist.core.media import LocalDirStorage
from wxdist.models import ProductImage


def decode_qr(data: bytes) -> list[str]:
    """Every QR code zxing-cpp finds in a PNG or JPEG, as text."""
    image = Image.open(io.BytesIO(data)).convert("L")
    return [r.text for r in zxingcpp.read_barcodes(image)]


def wechat_stats(emulator_url: str) -> dict[str, Any]:
    return requests.get(f"{emulator_url}/_emulator/wechat/stats", timeout=5).json()


def code_fetches(emulator_url: str, scene: str) -> int:
    """How many times the emulator drew a code for `scene` (any page, env)."""
    by_key = wechat_stats(emulator_url)["wxacode_by_key"]
    return sum(n for key, n in by_key.items() if key.split("|")[0] == scene)


def product_picture(size: int = 800) -> bytes:
    """A colourful JPEG, like a product photo."""
    image = Image.new("RGB", (size, size))
    pixels = image.load()
    assert pixels is not None
    for y in range(0, size, 4):
        for x in range(0, size, 4):
            colour = (x * 255 // size, y * 255 // size, 160)
            for dy in range(4):
                for dx in range(4):
                    pixels[x + dx, y + dy] = colour
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def give_picture(app: Flask, product_id: int, key: str = "uploads/p.jpg") -> None:
    """Store a picture in the media storage and make it the product's image."""
    with app.app_context():
        LocalDirStorage(app.config["MEDIA_DIR"]).put(key, product_picture())
        image = db.session.query(ProductImage).filter_by(product_id=product_id).first()
        assert image is not None
        image.url = f"/media/{key}"
        db.session.commit()


def media_files(app: Flask, folder: str) -> list[Path]:
    root = Path(app.config["MEDIA_DIR"]) / folder
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
