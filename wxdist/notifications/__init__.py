"""Notifications: subscribe messages and their consent ledger, the notices sent when an
order ships, an after-sale ends, commission settles, a withdrawal ends or a distributor is
approved, the merchant's switch per notice, and the events of WeChat's message push.

Owns `consents` (the count per user and template), `keywords` (WeChat's value rules),
`sender` (queue, send, retry), `notices` (what each notice says), `switches`, `push`
(verifying and handling message pushes) and `receivers` (connected by `create_app`).

May import: `sharing`, `money`, `distribution`, `marketing`, `shop`, `catalog`, `accounts`,
`core`, `models`, `payments`, `config`. Never a surface.
"""
