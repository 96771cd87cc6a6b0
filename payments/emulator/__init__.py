"""An offline stand-in for the WeChat and Alipay servers.

It speaks the official wire formats, verifies what it is sent, signs what it answers and
posts signed notifies to the app, so the real SDKs run unchanged against it. Use
`EmulatorServer(EmulatorSettings.from_config(cfg)).start()` to run it in a thread on
loopback, or `flask emulator` to run it as its own process.
"""

from payments.emulator.app import create_emulator_app
from payments.emulator.server import EmulatorServer
from payments.emulator.settings import EmulatorSettings

__all__ = ["EmulatorServer", "EmulatorSettings", "create_emulator_app"]
