"""Reading a rendered panel page the way the language tests judge it.

UI text is everything a person reads on the page that the database did not supply: the
text nodes, `<title>`, and the placeholder, title, aria-label and alt attributes. Left out:
text inside `<code>`, `<pre>`, `<kbd>`, `<samp>` (codes stay English), inside an element
that declares a language of its own (`lang`, e.g. the 中文 / English choice), and every
string the database holds (names, titles, order numbers) except the stored codes the panel
must show through a label (statuses, roles, channels).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from sqlalchemy import JSON, String, Text, select

from wxdist.core.extensions import db
from wxdist.panel.labels import labelled

# Latin words allowed in the Chinese panel: the brand and what Chinese merchant software
# writes in Latin letters too.
LATIN_IN_CHINESE = {"wxdist", "SKU", "ID", "CSV", "URL", "openid", "JPEG", "PNG", "WebP", "MB"}
LATIN_IN_CHINESE |= {"IP"}  # as in "IP 地址" (the audit log)
LATIN_IN_CHINESE |= {"API"}  # as in "API 密钥" (the open API's keys)
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")

_COLLECT = """
() => {
  const skip = (el) => el.closest('code, pre, kbd, samp, script, style, [lang]:not(html)');
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    if (!text || skip(node.parentElement)) continue;
    out.push(text);
  }
  for (const el of document.querySelectorAll('[placeholder], [title], [aria-label], [alt]')) {
    if (skip(el)) continue;
    for (const name of ['placeholder', 'title', 'aria-label', 'alt']) {
      const value = (el.getAttribute(name) || '').trim();
      if (value) out.push(value);
    }
  }
  const buttons = 'input[type=submit][value], input[type=button][value]';
  for (const el of document.querySelectorAll(buttons)) {
    if (!skip(el)) out.push(el.value.trim());
  }
  out.push(document.title.trim());
  return out;
}
"""


def page_texts(page: Any) -> list[str]:
    """Every piece of UI text on a Playwright page (see the module docstring)."""
    return [text for text in page.evaluate(_COLLECT) if text]


def stored_strings(app: Flask) -> list[str]:
    """Every string the database holds (longest first), but the codes that have a label
    (statuses, roles, channels...)."""
    values: set[str] = set()
    with app.app_context():
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON))]
            if not columns:
                continue
            for row in db.session.execute(select(*columns)):
                for value in row:
                    _collect(value, values)
    return sorted((v for v in values if not labelled(v)), key=len, reverse=True)


def _collect(value: object, into: set[str]) -> None:
    if isinstance(value, str):
        if value.strip():
            into.add(value.strip())
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect(key, into)
            _collect(item, into)
    elif isinstance(value, list):
        for item in value:
            _collect(item, into)


def without_data(text: str, data: list[str]) -> str:
    """`text` with every stored string taken out where it stands as a whole (not the 'tot'
    inside 'total')."""
    for value in data:
        if value in text:
            text = re.sub(rf"(?<![A-Za-z]){re.escape(value)}(?![A-Za-z])", " ", text)
    return text


def english_left(text: str) -> list[str]:
    """The Latin words of `text` a Chinese reader should not meet."""
    return [word for word in LATIN_WORD.findall(text) if word not in LATIN_IN_CHINESE]


def chinese_left(text: str) -> list[str]:
    return CJK.findall(text)
