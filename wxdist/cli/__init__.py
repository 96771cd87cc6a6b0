"""Surface: the Flask CLI commands (`flask …`), each group in its module: the general ones
(`commands`), the distribution programme's, sharing's and the panel's, and the demo.

May import: any domain package and `jobs` (the schedule); `demo --story` also reads the
dashboard's figures through the panel's queries (`wxdist.panel.queries`), never its views.
"""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from wxdist.cli.commands import demo, emulator, refund, seed, serve, ship, sweep
    from wxdist.cli.distribution import COMMANDS
    from wxdist.cli.panel import COMMANDS as PANEL_COMMANDS
    from wxdist.cli.share import COMMANDS as SHARE_COMMANDS

    commands = (serve, seed, demo, emulator, sweep, ship, refund)
    for command in (*commands, *COMMANDS, *SHARE_COMMANDS, *PANEL_COMMANDS):
        app.cli.add_command(command)
