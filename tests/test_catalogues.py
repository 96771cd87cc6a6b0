"""The catalogues are whole: every marked string is in them, Chinese for each, placeholders
kept, nothing fuzzy, and the compiled files are current (what `make` builds)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "wxdist" / "translations"
CHINESE = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
ENGLISH = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"


def _read(path: Path):  # type: ignore[no-untyped-def]
    with path.open("rb") as handle:
        return read_po(handle)


def _ids(catalog) -> set[str]:  # type: ignore[no-untyped-def]
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The strings marked in the source now, extracted as `make translations-update` does."""
    out = tmp_path_factory.mktemp("pot") / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [str(pybabel), "-q", "extract", "-F", "babel.cfg", "-k", "lazy_gettext", "-k", "_l",
         "--no-location", "-o", str(out), "."],
        cwd=ROOT,
        check=True,
    )  # fmt: skip
    return _ids(_read(out))


def test_every_marked_string_is_in_both_catalogues(extracted: set[str]) -> None:
    for path in (CHINESE, ENGLISH):
        catalogue = _ids(_read(path))
        missing, stale = extracted - catalogue, catalogue - extracted
        assert not missing, f"{path.parent.parent.name}: run make translations-update: {missing}"
        assert not stale, f"{path.parent.parent.name}: strings no longer in the code: {stale}"


def test_every_string_has_chinese_with_its_placeholders() -> None:
    catalogue = _read(CHINESE)
    untranslated, fuzzy, broken = [], [], []
    for message in catalogue:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            untranslated.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
    for message, errors in catalogue.check():
        broken.append((message.id, [str(error) for error in errors]))
    assert not untranslated, f"no Chinese for: {untranslated}"
    assert not fuzzy, f"fuzzy (unchecked) Chinese for: {fuzzy}"
    assert not broken, f"placeholders differ: {broken}"


def test_the_english_catalogue_adds_nothing_but_the_source() -> None:
    """English is the source language: its catalogue holds no second wording to drift."""
    rewritten = [m.id for m in _read(ENGLISH) if m.id and any(
        m.string if isinstance(m.string, tuple) else (m.string,)
    )]  # fmt: skip
    assert not rewritten, rewritten


def test_the_compiled_catalogues_are_current() -> None:
    for path in (CHINESE, ENGLISH):
        compiled = path.with_suffix(".mo")
        assert compiled.exists(), f"{compiled} missing: run make install-dev"
        assert compiled.stat().st_mtime >= path.stat().st_mtime, f"{compiled} is stale: make"
