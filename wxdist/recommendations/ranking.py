"""The ranking: one score per (distributor, product), the top N kept.

For a distributor d and a recommendable product p (on shelf, an active SKU in stock):

    relevance(d, p) = 1.0 * audience(d, p) + 0.6 * co(d, p) + 0.4 * category(d, p)
                      + 0.15 * popular(p)
    score(d, p)     = relevance(d, p) * channel(d, p) * margin(d, p)

- audience(d, p): how many of d's audience (buyers bound to d, and buyers of orders
  attributed to d) bought p, over the most any product got, in [0, 1]. What people who
  already buy through d buy is the strongest evidence of what will sell through d again.
- co(d, p): sum over the products i the audience bought of audience(d, i) * cos(i, p),
  cos the cosine similarity of i and p over all paid baskets (orders with both / sqrt of
  orders with each; each product's 20 best partners), scaled to a maximum of 1. It brings
  in what is bought *with* what the audience buys (bundles) that they have not bought yet.
- category(d, p): the share of d's audience purchases in p's category times p's units over
  the best seller's in that category. It carries a taste (tea drinkers) to the products
  of that taste nobody in the audience has tried yet, best sellers of it first.
- popular(p): log(1 + units of p) / log(1 + units of the best seller). A weak prior that
  orders what the audience terms do not separate and fills a short list.
- channel(d, p): for a product d has a share code for, how its code converts compared to
  the programme: (orders_dp + 20 g) / (scans_dp + 20) / g, clipped to [0.5, 2], where g is
  attributed paid orders per scan over all codes and 20 scans are the prior's weight (so
  a few scans barely move it); 1 for products d never shared. A product d's followers
  buy when d shares it rises; one they scan and ignore falls.
- margin(d, p): 0.8 + 0.4 * (price - earning) / price, the price after the promotions in
  force and the earning what d would be paid per unit (both from
  `distribution.promote.earnings`, the figures d sees on /distributor/products). In
  [0.8, 1.2]: between two products equally likely to sell, the one that leaves the
  merchant more after commission comes first, without letting margin outrank evidence.

The weights make the evidence close to d outrank the evidence far from d (a product the
audience buys beats a partner of it, which beats a product of a liked category, which
beats a best seller). **Cold start**: a distributor with no audience purchases gets the
best sellers, by units (score = popular(p), reason "popular").

Only candidates are scored (the audience's products, their partners, the 50 best sellers
of each category the audience buys, the 100 best sellers overall), which is every
product that could reach a top 50 (another one scores at most what a best seller scores).
Each row carries the reason of its largest term: audience, co_purchase (with the partner
product that contributed most), category or popular.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from wxdist.models import RecommendationReason as Reason

W_AUDIENCE, W_CO, W_CATEGORY, W_POPULAR = 1.0, 0.6, 0.4, 0.15
CHANNEL_PRIOR_SCANS = 20
CHANNEL_RANGE = (0.5, 2.0)
MARGIN_BASE, MARGIN_SPAN = 0.8, 0.4
TOP_PARTNERS = 20
TOP_PER_CATEGORY = 50
TOP_POPULAR = 100


@dataclass(frozen=True)
class Ranked:
    product_id: int
    score: float
    reason: str
    reason_product_id: int | None = None
    cold: bool = False  # from the cold-start list


@dataclass
class Model:
    """What every distributor's ranking shares, built once per refresh."""

    category: dict[int, int | None]  # recommendable products
    popular: dict[int, float]  # product -> popular(p), recommendable ones
    category_pop: dict[int, float]  # product -> units / the category best seller's
    by_category: dict[int | None, list[int]]  # best sellers of each category
    top_popular: list[int]  # recommendable, best seller first
    partners: dict[int, list[Any]]  # product -> [(cos, partner)]
    conversion: float  # g
    margins: dict[Any, dict[int, float]] = field(default_factory=dict)  # level -> p -> ratio


def build_model(
    category: dict[int, int | None],
    units: dict[int, int],
    partners: dict[int, list[Any]],
    conversion: float,
) -> Model:
    best = max((units.get(p, 0) for p in category), default=0)
    scale = math.log1p(best) or 1.0
    popular = {p: math.log1p(units.get(p, 0)) / scale for p in category}
    by_category: dict[int | None, list[int]] = defaultdict(list)
    for p in category:
        by_category[category[p]].append(p)
    category_pop: dict[int, float] = {}
    for c, members in by_category.items():
        members.sort(key=lambda p: (-units.get(p, 0), -p))
        top = units.get(members[0], 0) or 1
        for p in members:
            category_pop[p] = units.get(p, 0) / top
        by_category[c] = members[:TOP_PER_CATEGORY]
    top_popular = sorted(category, key=lambda p: (-units.get(p, 0), -p))[:TOP_POPULAR]
    return Model(category, popular, category_pop, dict(by_category), top_popular, partners,
                 conversion)  # fmt: skip


def cold_start(model: Model, limit: int) -> list[Ranked]:
    """The best sellers, for a distributor without audience purchases."""
    return [
        Ranked(p, model.popular[p], Reason.POPULAR, cold=True) for p in model.top_popular[:limit]
    ]


def _channel(model: Model, seen: tuple[int, int] | None) -> float:
    if seen is None:
        return 1.0
    scans, orders = seen
    g = model.conversion
    rate = (orders + CHANNEL_PRIOR_SCANS * g) / (scans + CHANNEL_PRIOR_SCANS)
    low, high = CHANNEL_RANGE
    return min(max(rate / g, low), high)


def _co_terms(model: Model, audience: dict[int, float]) -> dict[int, tuple[float, int]]:
    """product -> (co(d, p) before scaling, the partner that contributed most)."""
    found: dict[int, list[float]] = {}
    for i, weight in audience.items():
        for cos, j in model.partners.get(i, ()):
            contribution = weight * cos
            entry = found.get(j)
            if entry is None:
                found[j] = [contribution, contribution, i]
            else:
                entry[0] += contribution
                if contribution > entry[1]:
                    entry[1], entry[2] = contribution, i
    return {j: (total, int(i)) for j, (total, _best, i) in found.items()}


def rank(
    model: Model,
    bought: dict[int, int],
    channels: dict[int, tuple[int, int]],
    level: Any,
    limit: int,
) -> list[Ranked]:
    """The top `limit` of one distributor: `bought` is product -> audience buyers (any
    product, recommendable or not), `channels` product -> (scans, orders) of their codes,
    `level` the key of their margins in the model."""
    if not bought:
        return cold_start(model, limit)
    most = max(bought.values())
    audience = {p: n / most for p, n in bought.items()}
    co = _co_terms(model, audience)
    co_scale = max((total for total, _i in co.values()), default=0.0) or 1.0
    per_category: dict[int | None, float] = defaultdict(float)
    for p, n in bought.items():
        if p in model.category:
            per_category[model.category[p]] += n
    whole = sum(per_category.values()) or 1.0
    candidates = set(audience) | set(co) | set(model.top_popular)
    for c in per_category:
        candidates.update(model.by_category.get(c, ()))
    margins = model.margins.get(level, {})
    scored: list[Ranked] = []
    for p in candidates:
        if p not in model.category:
            continue
        co_total, partner = co.get(p, (0.0, 0))
        terms = (
            (W_AUDIENCE * audience.get(p, 0.0), Reason.AUDIENCE),
            (W_CO * co_total / co_scale, Reason.CO_PURCHASE),
            (W_CATEGORY * per_category.get(model.category[p], 0.0) / whole
             * model.category_pop.get(p, 0.0), Reason.CATEGORY),
            (W_POPULAR * model.popular.get(p, 0.0), Reason.POPULAR),
        )  # fmt: skip
        relevance = sum(value for value, _reason in terms)
        margin = MARGIN_BASE + MARGIN_SPAN * margins.get(p, 1.0)
        score = relevance * _channel(model, channels.get(p)) * margin
        value, reason = max(terms, key=lambda term: term[0])
        reason = reason if value > 0 else Reason.POPULAR  # nothing known: a filler
        scored.append(Ranked(p, score, reason, partner if reason == Reason.CO_PURCHASE else None))
    return heapq.nlargest(limit, scored, key=lambda r: (r.score, -r.product_id))
