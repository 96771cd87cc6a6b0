"""Product search and listing orders: title words (Chinese without spaces included), a
category, a price range; sorted by sales, price or newest; paginated without duplicates or
gaps.

**The title index.** MariaDB has no n-gram FULLTEXT parser (that is MySQL's) and its
default parser splits words on spaces, which Chinese titles have none of; `LIKE '%保温%'`
reads every title. So the catalogue keeps its own index, `product_terms`: one row
(term, product_id) per distinct *term* of a title, where a title is normalised (NFKC,
case-folded), cut into words at anything that is not a letter or a digit, and each word
gives every character (a unigram) and every pair of adjacent characters (a bigram). A term
is an integer (`ord(a) << 21 | ord(b)`, or `ord(a)` alone), so the key is 8 bytes, compares
exactly (no collation folds two terms together) and needs no character set.

A query is normalised and cut the same way; a one-character word looks up its unigram, a
longer word its bigrams, and a product matches when it holds every term of the query
(`GROUP BY product_id HAVING COUNT(*) = n` over the terms' rows, joined to the products).
So "保温" finds "不锈钢保温杯", "保温 杯" finds it too, "iphone" finds "Apple iPhone 15".
A word of three or more characters matches a title holding all its bigrams even when they
are not adjacent ("保温杯" in "保温壶配温杯"): the bigrams are a necessary condition, and
we accept that rare over-match rather than verify each candidate by `LIKE` (titles are not
normalised in the table, so a LIKE would miss full-width or differently-cased ones).
A query with no letter or digit in it filters nothing.

Cost: a title of n characters gives at most 2n - 1 rows (the bench's 100,000 titles of
about 14 characters: 2.1 million rows of 16 bytes, loaded in 22-56 s). A query reads the rows of its
terms only; a one-character word's unigram can be common (half the catalogue may hold
"杯"), which costs a read of those rows, bounded by the catalogue's size, never a scan of
the titles. Measured on MariaDB with bench/catalog.py (100,000 products; figures in the
README's bench section).

The index is kept in step by a flush listener (`connect()`, called by `create_app`): any
product inserted or whose title changes through the ORM (the panel's edits, the CLI, demo
data, tests' helpers) has its terms rewritten in the same transaction; any SKU inserted,
repriced, (de)activated or deleted has its product's `min_price_fen` (and `max_price_fen`,
what the products to promote rank by) recomputed there too.
Bulk Core writes (the migration's backfill, the bench's seed) call `index_titles`.

**Price** filters and sorts read `products.min_price_fen`: the lowest list price of the
product's active SKUs (what the card shows as its price; a product is in the range
[min_price_fen, max_price_fen] when that price is), not a limited-time promotion price,
which changes by the clock and cannot be indexed.

**Counting.** `total` is exact up to COUNT_AHEAD (1,000) matches past the page's offset;
beyond that the count stops there and the page says `total_capped` (show "1000+"). The
page's ids and the count are one read: the ids from the offset on, 1,000 at most, counted
by a window in the server, of which only the page's `per_page` come back (when all 1,000
came back the app spent more on parsing them than on the rest of the request: 20.6 ->
12.2 ms in-process for page 1 by price descending on a loaded machine). An exact count
of the whole shelf reads ~100,000 index entries per request, several times what the page
costs (measured: 74 ms against 0.3 ms for page 1 by sales on a loaded machine); a shopper
scrolls, and "more" is all a scroll needs.

**Orders and pagination.** Each sort is a key plus the product id as tie-breaker, so the
order is total and stable, offset pages neither repeat nor skip a product while nothing
changes; each has a covering index (shelf, key, id) and (category, shelf, key, id) on
MariaDB (InnoDB adds the primary key; a descending sort scans it backwards, which
EXPLAIN shows covering and which measured as fast as the forward scan: no DESC index). A
page reads the ids (index only, even at a deep offset) with their products' card columns
joined to the page's rows, then their pictures and SKUs in two plain column reads
(`Card`: with ORM products and selectin-loaded pictures and SKUs the request took twice
the CPU, 11.8 against 5.6 ms in-process; one round trip fewer took page 1 by sales from
12.5 to 6.4 ms in-process on a loaded machine).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import Any

from sqlalchemy import delete, func, insert, inspect, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import operators

from wxdist.catalog import flushes
from wxdist.core.extensions import db
from wxdist.models import Product, ProductImage, ProductTerm, Sku

_SHIFT = 21  # code points fit in 21 bits
MAX_QUERY_TERMS = 32
# Matches are counted at most this far past a page's offset (see "Counting").
COUNT_AHEAD = 1000


class Sort(StrEnum):
    DEFAULT = "default"  # the merchant's sort value, then newest
    SALES = "sales"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    NEWEST = "newest"


_ORDER = {
    Sort.DEFAULT: (Product.sort.desc(), Product.id.desc()),
    Sort.SALES: (Product.sales_count.desc(), Product.id.desc()),
    Sort.PRICE_ASC: (Product.min_price_fen.asc(), Product.id.asc()),
    Sort.PRICE_DESC: (Product.min_price_fen.desc(), Product.id.desc()),
    Sort.NEWEST: (Product.created_at.desc(), Product.id.desc()),
}


@dataclass(frozen=True)
class ProductSearch:
    """What a shopper filters by; every part optional. Prices in fen, inclusive."""

    q: str = ""
    category_id: int | None = None
    min_price_fen: int | None = None
    max_price_fen: int | None = None
    sort: Sort = Sort.DEFAULT


@dataclass(frozen=True)
class CardImage:
    url: str


@dataclass(frozen=True)
class CardSku:
    id: int
    price_fen: int
    stock: int
    is_active: bool


@dataclass(frozen=True)
class Card:
    """What a product card shows, read with plain column queries: the same attribute names
    as Product's (a listing page is mostly this read; ORM objects cost twice the CPU)."""

    id: int
    category_id: int | None
    title: str
    subtitle: str
    sales_count: int
    images: list[CardImage]
    skus: list[CardSku]


@dataclass(frozen=True)
class ProductPage:
    """A page of products; `total` is exact unless `total_capped`: then at least that many
    match (counting stops COUNT_AHEAD past the page's offset)."""

    items: list[Card]
    total: int
    total_capped: bool


# ---- terms --------------------------------------------------------------------------------


def words(text: str) -> list[str]:
    """`text` normalised (NFKC, case-folded) and cut into runs of letters and digits."""
    out: list[str] = []
    current: list[str] = []
    for char in unicodedata.normalize("NFKC", text).casefold():
        if char.isalnum():
            current.append(char)
        elif current:
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return out


def _bigrams(word: str) -> set[int]:
    return {ord(a) << _SHIFT | ord(b) for a, b in pairwise(word)}


def title_terms(title: str) -> set[int]:
    """Every unigram and bigram of each word of `title`."""
    terms: set[int] = set()
    for word in words(title):
        terms.update(ord(char) for char in word)
        terms.update(_bigrams(word))
    return terms


def query_terms(q: str) -> set[int]:
    """The terms a title must hold to match `q`: a one-character word's unigram, a longer
    word's bigrams (at most MAX_QUERY_TERMS, the first ones: a longer query is cut)."""
    terms: list[int] = []
    for word in words(q):
        terms.extend([ord(word)] if len(word) == 1 else sorted(_bigrams(word)))
    return set(dict.fromkeys(terms[:MAX_QUERY_TERMS]))


def index_titles(conn: Any, titles: Iterable[tuple[int, str]]) -> None:
    """Rewrite the terms of each (product_id, title) on `conn` (a Connection or Session);
    the caller commits."""
    rows: list[dict[str, int]] = []
    ids: list[int] = []
    for product_id, title in titles:
        ids.append(product_id)
        rows.extend({"term": t, "product_id": product_id} for t in sorted(title_terms(title)))
    if not ids:
        return
    table = ProductTerm.__table__
    conn.execute(delete(table).where(table.c.product_id.in_(ids)))
    if rows:
        conn.execute(insert(table), rows)


def refresh_min_prices(conn: Any, product_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """Recompute `min_price_fen` and `max_price_fen` of these products from their active
    SKUs (0 without one); returns the new (min, max). The caller commits."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    products, skus = Product.__table__, Sku.__table__
    active = (skus.c.product_id == products.c.id, skus.c.is_active.is_(True))
    lowest = select(func.coalesce(func.min(skus.c.price_fen), 0)).where(*active)
    highest = select(func.coalesce(func.max(skus.c.price_fen), 0)).where(*active)
    conn.execute(
        update(products)
        .where(products.c.id.in_(ids))
        .values(min_price_fen=lowest.scalar_subquery(), max_price_fen=highest.scalar_subquery())
    )
    rows = conn.execute(
        select(products.c.id, products.c.min_price_fen, products.c.max_price_fen).where(
            products.c.id.in_(ids)
        )
    )
    return {row[0]: (row[1], row[2]) for row in rows}


# ---- keeping the index in step ----------------------------------------------------------


def _changed(obj: Any, *names: str) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _after_flush(session: Session, _context: Any) -> None:
    """Rewrite the terms of products inserted or retitled in this flush, and the lowest
    price of products whose SKUs changed (same connection, same transaction)."""
    titles: dict[int, str] = {}
    priced: set[int] = set()
    for obj in session.new:
        if isinstance(obj, Product):
            titles[obj.id] = obj.title
            priced.add(obj.id)
        elif isinstance(obj, Sku):
            priced.add(obj.product_id)
    for obj in session.dirty:
        if isinstance(obj, Product) and _changed(obj, "title"):
            titles[obj.id] = obj.title
        elif isinstance(obj, Sku) and _changed(obj, "price_fen", "is_active", "product_id"):
            priced.add(obj.product_id)
            history = inspect(obj).attrs.product_id.history
            priced.update(old for old in history.deleted or () if old is not None)
    for obj in session.deleted:
        if isinstance(obj, Sku) and obj.product_id is not None:
            priced.add(obj.product_id)
    if not titles and not priced:
        return
    conn = session.connection()
    index_titles(conn, sorted(titles.items()))
    prices = refresh_min_prices(conn, (p for p in priced if p is not None))
    session.info.setdefault("wxdist_min_prices", {}).update(prices)


def _after_flush_postexec(session: Session, _context: Any) -> None:
    """Loaded products see the prices just written (no reload, no stale value)."""
    prices = session.info.pop("wxdist_min_prices", None)
    for product_id, (lowest, highest) in (prices or {}).items():
        loaded = session.identity_map.get(
            inspect(Product).identity_key_from_primary_key([product_id])
        )
        if loaded is not None:
            set_committed_value(loaded, "min_price_fen", lowest)
            set_committed_value(loaded, "max_price_fen", highest)


def connect() -> None:
    """Listen to every ORM flush (idempotent)."""
    flushes.listen(_after_flush, _after_flush_postexec)


# ---- searching ----------------------------------------------------------------------------


def _matching_ids(search: ProductSearch) -> Any:
    """The select of on-shelf product ids matching `search` (unordered)."""
    # `= true`, not `IS TRUE`: MariaDB uses an index for the one, scans for the other.
    query = select(Product.id).where(Product.on_shelf == true())
    if search.category_id is not None:
        query = query.where(Product.category_id == search.category_id)
    if search.min_price_fen is not None:
        query = query.where(Product.min_price_fen >= search.min_price_fen)
    if search.max_price_fen is not None:
        query = query.where(Product.min_price_fen <= search.max_price_fen)
    terms = query_terms(search.q) if search.q else set()
    if len(terms) == 1:
        term = select(ProductTerm.product_id).where(ProductTerm.term == terms.pop()).subquery("t")
        query = query.join(term, Product.id == term.c.product_id)
    elif terms:
        matched = (
            select(ProductTerm.product_id)
            .where(ProductTerm.term.in_(sorted(terms)))
            .group_by(ProductTerm.product_id)
            .having(func.count() == len(terms))
            .subquery("t")
        )
        query = query.join(matched, Product.id == matched.c.product_id)
    return query


def search_products(search: ProductSearch, page: int, per_page: int) -> ProductPage:
    """One page of on-shelf products matching `search` in its order, and their count (an
    inverted price range matches nothing: it is not an error)."""
    query = _matching_ids(search)
    offset = (page - 1) * per_page
    rows = db.session.execute(_page_and_count(query, search.sort, per_page, offset)).all()
    if not rows:  # past the end (or nothing matches): how many there are, below the offset
        total = db.session.scalar(select(func.count()).select_from(query.limit(offset).subquery()))
        return ProductPage([], total or 0, False)
    ahead = rows[0].ahead
    pictures, variants = _card_parts([row.id for row in rows])
    cards = [
        Card(
            row.id,
            row.card_category_id,
            row.card_title,
            row.card_subtitle,
            row.card_sales_count,
            pictures[row.id],
            variants[row.id],
        )
        for row in rows
    ]
    return ProductPage(cards, offset + ahead, ahead >= COUNT_AHEAD)


def _page_and_count(query: Any, sort: Sort, per_page: int, offset: int) -> Any:
    """One read for the page and the count: the ids from the offset on, COUNT_AHEAD at most,
    counted in the server (a window over them), of which only the page's come back: the
    app parses `per_page` rows, not a thousand."""
    keys = [key.element for key in _ORDER[sort]]  # the sort columns, without direction
    ahead = (
        query.add_columns(*(k for k in keys if k is not Product.id))
        .order_by(*_ORDER[sort])
        .limit(max(COUNT_AHEAD, per_page))
        .offset(offset)
        .subquery("ahead")
    )
    outer_order = [
        getattr(ahead.c[key.element.key], "desc" if _descending(key) else "asc")()
        for key in _ORDER[sort]
    ]
    page = (
        select(ahead, func.count().over().label("ahead"))
        .order_by(*outer_order)
        .limit(per_page)
        .subquery("page")
    )
    products = Product.__table__
    return (
        select(
            page.c.id,
            page.c.ahead,
            *(products.c[name].label(f"card_{name}") for name in _CARD_COLUMNS),
        )
        .join_from(page, products, products.c.id == page.c.id)
        .order_by(
            *(
                getattr(page.c[key.element.key], "desc" if _descending(key) else "asc")()
                for key in _ORDER[sort]
            )
        )
    )


_CARD_COLUMNS = ("category_id", "title", "subtitle", "sales_count")


def _descending(key: Any) -> bool:
    return getattr(key, "modifier", None) is operators.desc_op


def _card_parts(
    ids: list[int],
) -> tuple[dict[int, list[CardImage]], dict[int, list[CardSku]]]:
    """The pictures and the SKUs of these products, by product: two column reads (the
    products' own columns come with the page's ids)."""
    images, skus = ProductImage.__table__, Sku.__table__
    conn = db.session.connection()
    pictures: dict[int, list[CardImage]] = {i: [] for i in ids}
    for product_id, url in conn.execute(
        select(images.c.product_id, images.c.url)
        .where(images.c.product_id.in_(ids))
        .order_by(images.c.product_id, images.c.sort, images.c.id)
    ):
        pictures[product_id].append(CardImage(url))
    variants: dict[int, list[CardSku]] = {i: [] for i in ids}
    for sku_id, product_id, price_fen, stock, is_active in conn.execute(
        select(skus.c.id, skus.c.product_id, skus.c.price_fen, skus.c.stock, skus.c.is_active)
        .where(skus.c.product_id.in_(ids))
        .order_by(skus.c.id)
    ):
        variants[product_id].append(CardSku(sku_id, price_fen, stock, bool(is_active)))
    return pictures, variants
