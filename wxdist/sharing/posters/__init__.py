"""Share posters drawn with Pillow: an invite poster (avatar, nickname, slogan, code) and a
product poster (image, name, price, code, the distributor's name).

A poster is JPEG, kept in the media storage under a content key: a digest of everything
drawn on it (template, scene and page of the code, nickname, avatar URL, product name,
price and image URL, renderer version). A request computes the key from a few primary-key
reads and serves the stored bytes; it draws only when one of those inputs changed, so the
poster follows the product, the template, the avatar and the name, and nothing else. A
poster drawn while a picture could not be fetched is served but not kept, so the next
request tries again.

The merchant changes a template (background colour or image, colours, texts, positions and
sizes) with `flask poster template set KIND key=value …`; overrides are kept as one JSON
record per kind over the defaults.

Owns, one module each: `templates` (shape, defaults, checking changes), `template_store`
(the merchant's overrides), `catalog.face` (what a poster shows of a product),
`inputs` (a poster's inputs and content key), `text` (fonts, fallback, wrapping),
`pictures` (decoding, scaled product pictures), `drawing` (rendering), `serving` (stored
or freshly drawn), `stored` (the one-query fast path), `predraw` (drawing ahead) and
`jobs` (handing drawing ahead to the queue).

May import: `wxdist.core.extensions`, `wxdist.core.errors`, `wxdist.models`, `wxdist.core.media`,
`sharing.share_codes`, `sharing.wxacode`, `core.tasks` (in `jobs`); never a blueprint,
CLI or `jobs/` entry point. The names below are what the rest of the code imports from
`wxdist.sharing.posters`.
"""

from wxdist.catalog.face import ProductFacts, product_facts
from wxdist.sharing.posters.drawing import JPEG_QUALITY, format_price, render
from wxdist.sharing.posters.inputs import RENDERER_VERSION, PosterInputs, display_name, inputs_for
from wxdist.sharing.posters.pictures import scaled_key, scaled_picture
from wxdist.sharing.posters.predraw import (
    PREDRAW_LIMIT,
    predraw_for_distributor,
    predraw_for_product,
)
from wxdist.sharing.posters.serving import Poster, draw_and_store, get_poster
from wxdist.sharing.posters.stored import stored_poster
from wxdist.sharing.posters.template_store import get_template, reset_template, set_template
from wxdist.sharing.posters.templates import DEFAULTS, KINDS, Box, PosterTemplate, TextStyle

__all__ = [
    "DEFAULTS",
    "JPEG_QUALITY",
    "KINDS",
    "PREDRAW_LIMIT",
    "RENDERER_VERSION",
    "Box",
    "Poster",
    "PosterInputs",
    "PosterTemplate",
    "ProductFacts",
    "TextStyle",
    "display_name",
    "draw_and_store",
    "format_price",
    "get_poster",
    "get_template",
    "inputs_for",
    "predraw_for_distributor",
    "predraw_for_product",
    "product_facts",
    "render",
    "reset_template",
    "scaled_key",
    "scaled_picture",
    "set_template",
    "stored_poster",
]
