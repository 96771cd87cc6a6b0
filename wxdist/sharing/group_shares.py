"""A group buy's share scene: "g" + base-36 group id, followed by "_" and the sharer's
plain distributor scene ("r" + base-36 user id) when the sharer is an active distributor:
at most 1 + 13 + 1 + 14 = 29 characters, under the 32 `getwxacodeunlimit` takes. The share
page reads the group from it (`group_in_scene`); at login or bind the distributor part
binds as a plain scene does (`scenes.resolve_scene`). Nothing in it is secret: a group id
names a public share page, and a shopper who edits the "r" part binds to a distributor as
they could with that distributor's own code.
"""

from __future__ import annotations

import string
from urllib.parse import urlencode

from flask import current_app

from wxdist.core.ids import in_base
from wxdist.distribution.distributors import is_active_distributor
from wxdist.distribution.referrals import distributor_scene
from wxdist.models.share import SCENE_MAX

PREFIX, SEPARATOR = "g", "_"
_B36 = string.digits + string.ascii_lowercase


def group_scene(group_id: int, sharer_id: int | None) -> str:
    """The scene of `group_id` shared by `sharer_id` (their distributor part only when
    they are an active distributor)."""
    scene = PREFIX + in_base(group_id, _B36)
    if sharer_id is not None and is_active_distributor(sharer_id):
        scene += SEPARATOR + distributor_scene(sharer_id)
    assert len(scene) <= SCENE_MAX
    return scene


def split(scene: str) -> tuple[int, str | None] | None:
    """(group id, the distributor's plain scene or None) of a group scene; None if `scene`
    is not one."""
    scene = scene.strip()
    if len(scene) < 2 or scene[0] != PREFIX:
        return None
    head, _sep, tail = scene[1:].partition(SEPARATOR)
    if not head or any(c not in _B36 for c in head):
        return None
    return int(head, 36), tail or None


def group_in_scene(scene: str) -> int | None:
    """The group a group scene names, or None."""
    found = split(scene)
    return found[0] if found else None


def link_for(scene: str) -> str:
    """The H5 share link of a group scene."""
    return f"{current_app.config['H5_BASE_URL']}/?{urlencode({'scene': scene})}"
