"""Ecommerce over the last 28 days: purchases without a transaction id, transaction ids used by several
purchases, purchases without revenue. Not applicable to a property without purchase events."""

from __future__ import annotations

from ga4kit.audit.registry import NotApplicable, check

NOT_SET = ("(not set)", "")
PURCHASE_FIX = ("Fix the purchase tag (Google Tag Manager or gtag on the confirmation page): send transaction_id, "
                "value and currency with every purchase, and fire it once per order (not again on reload).")


def _purchases(ctx):
    rep = ctx.facts.report("purchases")
    frame = rep.frame
    total = int(frame["eventCount"].sum())
    if not total:
        raise NotApplicable("no purchase events in the last 28 days")
    return frame, total, rep.truncated


@check("purchase_without_transaction_id", family="ecommerce", severity="high",
       title="Purchases without a transaction id",
       reads="runReport transactionId -> eventCount (purchase events, 28 days)", fix=PURCHASE_FIX)
def purchase_without_transaction_id(ctx):
    frame, total, _ = _purchases(ctx)
    missing = int(frame.loc[frame["transactionId"].isin(NOT_SET), "eventCount"].sum())
    if missing:
        yield ctx.finding("high", f"{missing:,} of {total:,} purchases in the last 28 days have no transaction id: "
                          "GA4 cannot remove duplicates, and they cannot be matched with the shop's orders.",
                          {"purchases_without_id": missing, "purchases": total, "share": missing / total})


@check("duplicate_transaction_id", family="ecommerce", severity="high", title="Duplicate transaction ids",
       reads="runReport transactionId -> eventCount (purchase events, 28 days)", fix=PURCHASE_FIX)
def duplicate_transaction_id(ctx):
    frame, total, truncated = _purchases(ctx)
    dup = frame[~frame["transactionId"].isin(NOT_SET) & (frame["eventCount"] > 1)]
    if len(dup):
        extra = int((dup["eventCount"] - 1).sum())
        yield ctx.finding("high", f"{len(dup):,} transaction ids were sent with more than one purchase ({extra:,} "
                          "extra purchase events): confirmation pages that fire again (reloads, revisits) "
                          "inflate purchases and revenue.",
                          {"duplicated_ids": len(dup), "extra_purchases": extra, "purchases": total,
                           "share": extra / total} | ({"more_ids_possible": 1} if truncated else {}))


@check("purchase_without_revenue", family="ecommerce", severity="high", title="Purchases without revenue",
       reads="runReport transactionId -> eventCount, purchaseRevenue (purchase events, 28 days)", fix=PURCHASE_FIX)
def purchase_without_revenue(ctx):
    frame, total, _ = _purchases(ctx)
    zero = frame[frame["purchaseRevenue"] <= 0]
    purchases = int(zero["eventCount"].sum())
    if purchases:
        yield ctx.finding("high", f"{purchases:,} of {total:,} purchases in the last 28 days carry no revenue: the "
                          "purchase tag sends no value (or no currency), so revenue reports are short.",
                          {"purchases_without_revenue": purchases, "purchases": total, "share": purchases / total})
