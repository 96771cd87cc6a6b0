"""Scenes: the ≤ 32-character string a mini-program code or share link carries, naming who
shared it: "r" + base-36 user id for a distributor's plain scene, "s" + base 62 for a share
code (which also says the channel and counts scans, opens and binds), "g" + base 36 for a
group buy's group, with the sharing distributor's plain scene after "_" (`group_shares`)."""

from __future__ import annotations

from wxdist.distribution.referrals import ResolvedScene, referrer_in_scene
from wxdist.sharing import group_shares
from wxdist.sharing.share_codes import find_by_scene


def resolve_scene(scene: str) -> ResolvedScene | None:
    """What a scene points at, or None if it names nobody."""
    group = group_shares.split(scene)
    if group is not None:
        scene = group[1] or ""
    referrer_id = referrer_in_scene(scene)
    if referrer_id is not None:
        return ResolvedScene(referrer_id=referrer_id)
    code = find_by_scene(scene)
    if code is not None:
        return ResolvedScene(code.distributor_id, share_code_id=code.id, channel=code.channel)
    return None
