"""Rate boosts in commission attribution (`wxdist.distribution.commissions` calls these
inside its transaction).

Rules, each a choice written down once:
- A boost applies to an order by the time the order was **paid**: its window
  [starts_at, ends_at) contains `paid_at` and staff had not stopped it by then. A draft
  applies to nothing. A campaign stopped later still applies to orders paid before.
- Scope: all, or chosen products, categories (the product's), or distributor levels (the
  beneficiary's). Each depth's beneficiary is judged on its own.
- Several apply: the highest priority wins; on a tie, the campaign created first (lowest
  id) wins, so the outcome never depends on the order rows are read in.
- The rate: an override replaces the normal rate, extra basis points are added to it. The
  depths together still never exceed 100 % (the caller's cap applies to the boosted rate).
  A boost never lowers a rate: if the campaign's rate is not above the normal one, the
  normal rate stands and the record names no campaign.
- Budget: only the **extra** over the normal rate (boosted amount minus normal amount,
  in fen) counts. It is reserved by one conditional atomic UPDATE
  (`spent_fen = spent_fen + x WHERE id = :id AND spent_fen + x <= budget_fen`), in the
  attribution transaction, campaign by campaign in id order (so two batches lock the
  campaign rows in one order and cannot deadlock). When what is left cannot cover a
  record's extra, that record falls back to the **normal rate** (no partial boost: a
  record's rate always matches its amount), and names no campaign.
- Clawback: a refund claws back the boosted commission as any other (proportionally);
  the budget is **not** returned. `spent_fen` only grows, so what a campaign has paid out
  is never re-offered after its window, and the cap holds without a second counter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update

from wxdist.core.extensions import db
from wxdist.core.money import BP_WHOLE, apply_rate
from wxdist.models import CampaignKind, CampaignStatus, IncentiveCampaign

RATE_SOURCE = "campaign"


@dataclass(frozen=True)
class Boost:
    """A boost campaign as attribution reads it."""

    id: int
    priority: int
    starts_at: datetime
    ends_at: datetime  # the effective end: stopped_at if staff stopped it earlier
    scope: str
    scope_ids: frozenset[int]
    rate_mode: str
    rate_bp: int

    def covers(
        self, paid_at: datetime, product_id: int, category_id: int | None, level_id: int | None
    ) -> bool:
        if not self.starts_at <= paid_at < self.ends_at:
            return False
        if self.scope == "products":
            return product_id in self.scope_ids
        if self.scope == "categories":
            return category_id in self.scope_ids
        if self.scope == "levels":
            return level_id in self.scope_ids
        return True

    def rate(self, normal_bp: int) -> int:
        """The boosted rate before the depth cap."""
        if self.rate_mode == "override":
            return self.rate_bp
        return min(BP_WHOLE, normal_bp + self.rate_bp)


def load(paid_times: Iterable[datetime]) -> list[Boost]:
    """The boosts (not drafts) whose window may contain one of `paid_times`, best first
    (priority descending, then id ascending). One query."""
    times = list(paid_times)
    if not times:
        return []
    rows = db.session.scalars(
        select(IncentiveCampaign).where(
            IncentiveCampaign.kind == CampaignKind.BOOST,
            IncentiveCampaign.status != CampaignStatus.DRAFT,
            IncentiveCampaign.starts_at <= max(times),
            IncentiveCampaign.ends_at > min(times),
            or_(IncentiveCampaign.stopped_at.is_(None), IncentiveCampaign.stopped_at > min(times)),
        )
    ).all()
    boosts = [
        Boost(
            row.id,
            row.priority,
            row.starts_at,
            row.effective_end,
            row.scope,
            frozenset(int(i) for i in row.scope_ids or ()),
            row.rate_mode,
            row.rate_bp,
        )
        for row in rows
    ]
    return sorted(boosts, key=lambda b: (-b.priority, b.id))


def pick(
    boosts: list[Boost],
    paid_at: datetime,
    product_id: int,
    category_id: int | None,
    level_id: int | None,
) -> Boost | None:
    """The campaign that sets the rate (see the module's rules), or None."""
    for boost in boosts:  # best first
        if boost.covers(paid_at, product_id, category_id, level_id):
            return boost
    return None


@dataclass
class Pending:
    """A record boosted by a campaign, waiting for its extra to be reserved; `normal` is
    what the record becomes if the budget cannot cover it."""

    record: dict[str, Any]
    campaign_id: int
    extra_fen: int
    normal_rate_bp: int
    normal_source: str
    normal_amount_fen: int


def boosted(
    record: dict[str, Any], boost: Boost, normal_bp: int, source: str, cap_bp: int
) -> Pending | None:
    """Set `record` (rate, source, amount) to the boost's rate, capped at `cap_bp`, and
    return what to reserve; None (record untouched) when the boost would not raise it."""
    rate = min(boost.rate(normal_bp), cap_bp)
    normal_bp = min(normal_bp, cap_bp)
    base = record["base_fen"]
    amount, normal_amount = apply_rate(base, rate), apply_rate(base, normal_bp)
    if amount <= normal_amount:
        return None
    record.update(
        rate_bp=rate,
        rate_source=RATE_SOURCE,
        amount_fen=amount,
        campaign_id=boost.id,
        campaign_extra_fen=amount - normal_amount,
    )
    return Pending(record, boost.id, amount - normal_amount, normal_bp, source, normal_amount)


def _take(campaign_id: int, extra_fen: int) -> bool:
    """The reservation: one conditional atomic UPDATE of the campaign's counter."""
    spent = IncentiveCampaign.spent_fen
    moved = db.session.execute(
        update(IncentiveCampaign)
        .where(
            IncentiveCampaign.id == campaign_id, spent + extra_fen <= IncentiveCampaign.budget_fen
        )
        .values(spent_fen=spent + extra_fen)
        .execution_options(synchronize_session=False)
    )
    return moved.rowcount == 1


def reserve(pending: list[Pending]) -> None:
    """Reserve every pending extra against its campaign's budget, campaigns in id order;
    each campaign's total in one UPDATE if it fits, else record by record (in record
    order) while it fits. A record whose extra does not fit falls back to its normal
    rate. Runs in the caller's transaction: a rollback returns every reservation."""
    by_campaign: dict[int, list[Pending]] = {}
    for one in pending:
        by_campaign.setdefault(one.campaign_id, []).append(one)
    for campaign_id in sorted(by_campaign):
        group = by_campaign[campaign_id]
        if _take(campaign_id, sum(one.extra_fen for one in group)):
            continue
        for one in group:
            if not _take(campaign_id, one.extra_fen):
                one.record.update(
                    rate_bp=one.normal_rate_bp,
                    rate_source=one.normal_source,
                    amount_fen=one.normal_amount_fen,
                    campaign_id=None,
                    campaign_extra_fen=0,
                )
