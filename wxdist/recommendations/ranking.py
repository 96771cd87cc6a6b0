"""The ranking: one score per (distributor, product), the top N kept.

The score estimates how likely the next unit sold through distributor d is product p,
tilted by how well d's shares of p convert and by what p leaves the merchant. For a
recommendable product p (on shelf, an active SKU in stock):

    relevance(d, p) = λ_d * (0.4 * P_aud(p) + 0.2 * P_co(p) + 0.4 * P_cat(p))
                      + (1 - λ_d) * P_pop(p),        λ_d = N_d / (N_d + 2)
    score(d, p)     = relevance(d, p) * channel(d, p) * margin(d, p)

Every term is a probability over products, so the terms add up in the same units and
none swamps another by scale:

- P_aud(p) = n_dp / N_d: n_dp how many of d's audience (buyers bound to d, and buyers of
  orders attributed to d) bought p, N_d the sum over products. What the people who
  already buy through d buy is the closest evidence of what will sell through d again.
- P_co(p) = sum over i of P_aud(i) * P(p in a basket | i in it), the conditional over all
  paid baskets (each product's 20 most frequent partners): what is bought *with* what the
  audience buys (bundles) and that they have not bought yet.
- P_cat(p) = the share of d's audience purchases in p's category times p's share of its
  category's units: the audience's taste carried to the products of that taste nobody in
  the audience has tried yet, best sellers of it first.
- P_pop(p) = p's share of all units sold: what sells anywhere.
- λ_d weighs d's own evidence against the shop's: with no audience purchases (N_d = 0,
  **cold start**) the score is popularity alone; with two it is even; the more d's
  audience has bought, the more their own data counts (Jelinek-Mercer smoothing with a
  prior of 2 purchases). The 0.4 / 0.2 / 0.4 split inside d's part gives what the
  audience bought and what their taste points to equal say and bundles a smaller one
  (a partner's probability is already scaled down by the conditional).
- channel(d, p): for a product d has a share code for, how its code converts compared
  with the programme: (orders_dp + 20 g) / (scans_dp + 20) / g, clipped to [0.5, 2], g
  the attributed paid orders per scan over all codes and 20 scans the prior's weight (a
  few scans barely move it); 1 for products d never shared. A product d's followers buy
  when d shares it rises; one they scan and ignore falls.
- margin(d, p) = 0.8 + 0.4 * (price - earning) / price, the price after the promotions
  in force and the earning what d would be paid per unit, both from
  `distribution.promote.earnings` (the figures d sees on /distributor/products). In
  [0.8, 1.2]: between two products about as likely to sell, the one that leaves the
  merchant more after commission comes first, without letting margin outrank evidence.

Only candidates are scored: the audience's products, their partners, the best sellers of
each category the audience buys (5 plus its share of the top N, at most 50) and the 100
best sellers overall; any other product has at most the 100th best seller's P_pop and a
P_cat below those of its category's candidates (the approximation that keeps the
ranking near 2 ms a distributor). Each row carries a reason: audience when
d's audience bought it; else the larger of co_purchase (with the partner that contributed
most) and category when it makes at least a quarter of the relevance; else popular.
bench/recommend_eval.py measures the ranking against "most sold overall".
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from wxdist.models import RecommendationReason as Reason

W_AUDIENCE, W_CO, W_CATEGORY = 0.4, 0.2, 0.4
PRIOR_PURCHASES = 2.0
EXPLAINS = 0.25  # share of the relevance a term needs to be named the reason
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
    total = sum(units.values()) or 1
    popular = {p: units.get(p, 0) / total for p in category}
    by_category: dict[int | None, list[int]] = defaultdict(list)
    for p in category:
        by_category[category[p]].append(p)
    category_pop: dict[int, float] = {}
    for c, members in by_category.items():
        members.sort(key=lambda p: (-units.get(p, 0), -p))
        whole = sum(units.get(p, 0) for p in members) or 1
        for p in members:
            category_pop[p] = units.get(p, 0) / whole
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


def _co_terms(model: Model, audience: dict[int, float]) -> tuple[dict[int, float], dict]:
    """P_co before its weight: product -> sum of P_aud(i) * P(p | i), and product -> the
    partner i that contributed most."""
    totals: dict[int, float] = {}
    best: dict[int, tuple[float, int]] = {}
    for i, weight in audience.items():
        for conditional, j in model.partners.get(i, ()):
            contribution = weight * conditional
            totals[j] = totals.get(j, 0.0) + contribution
            if contribution > best.get(j, (0.0, 0))[0]:
                best[j] = (contribution, i)
    return totals, best


def _reason(
    p: int, terms: tuple[float, float, float], relevance: float, audience: dict[int, float]
) -> str:
    """See the module docstring."""
    if p in audience:
        return Reason.AUDIENCE  # a fact, whatever else counts
    co, category = terms[1], terms[2]
    if max(co, category) <= EXPLAINS * relevance:  # d's own evidence explains little
        return Reason.POPULAR
    return Reason.CO_PURCHASE if co >= category else Reason.CATEGORY


def rank(
    model: Model,
    bought: dict[int, int],
    channels: dict[int, tuple[int, int]],
    level: Any,
    limit: int,
) -> list[Ranked]:
    """The top `limit` of one distributor: `bought` is product -> audience buyers (any
    product, recommendable or not), `channels` product -> (scans, orders) of their codes,
    `level` the key of their margins in the model. Scores every candidate in one tight
    loop, then explains only the chosen ones."""
    if not bought:
        return cold_start(model, limit)
    whole = sum(bought.values())
    own = whole / (whole + PRIOR_PURCHASES)  # λ_d
    audience = {p: n / whole for p, n in bought.items()}
    co, partners = _co_terms(model, audience)
    category, popular, category_pop = model.category, model.popular, model.category_pop
    per_category: dict[int | None, float] = defaultdict(float)
    for p, share in audience.items():
        if p in category:
            per_category[category[p]] += share
    candidates = set(audience) | set(co) | set(model.top_popular)
    for c, share in per_category.items():  # a category's best sellers, by its share
        candidates.update(model.by_category.get(c, ())[: 5 + math.ceil(limit * share)])
    margins = model.margins.get(level, {})
    w_aud, w_co, w_cat, w_pop = own * W_AUDIENCE, own * W_CO, own * W_CATEGORY, 1 - own
    scored: list[tuple[float, int]] = []
    for p in candidates:
        if p not in category:
            continue
        relevance = (
            w_aud * audience.get(p, 0.0)
            + w_co * co.get(p, 0.0)
            + w_cat * per_category.get(category[p], 0.0) * category_pop.get(p, 0.0)
            + w_pop * popular.get(p, 0.0)
        )
        seen = channels.get(p)
        if seen is not None:
            relevance *= _channel(model, seen)
        scored.append((relevance * (MARGIN_BASE + MARGIN_SPAN * margins.get(p, 1.0)), -p))
    chosen: list[Ranked] = []
    for score, negative in heapq.nlargest(limit, scored):
        p = -negative
        terms = (
            w_aud * audience.get(p, 0.0),
            w_co * co.get(p, 0.0),
            w_cat * per_category.get(category[p], 0.0) * category_pop.get(p, 0.0),
        )
        relevance = sum(terms) + w_pop * popular.get(p, 0.0)
        reason = _reason(p, terms, relevance, audience)
        partner = partners[p][1] if reason == Reason.CO_PURCHASE and p in partners else None
        chosen.append(Ranked(p, score, reason, partner))
    return chosen
