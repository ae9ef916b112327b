"""A varied synthetic input for chains, goal summary and flags, and the outputs pinned from it.

The outputs in ``tests/golden/chains_golden.pkl.gz`` were computed by the implementation before the
chains/flags split and the integer-code rewrite; ``test_chains_golden.py`` checks that today's code gives
the same frames. Regenerate them only when an output is meant to change (and say so in the commit):

    .venv/bin/python tests/chains_golden_support.py --write

Three cases, each with properties that differ on purpose:

- ``day``: day grain, one segment, 21 days and the 21 before them; property 111 has a goal that stops
  (broken tracking), a partial last day, steps out of sequence; 222 is spelt ``properties/222`` in the
  events and has NaN instead of "(all)", its data starts inside the previous period; 333 has traffic but no
  goal event; 444 was pulled but has no row at all; an event nobody declared rides along.
- ``week``: two segments, weeks clipped by the range (uneven against the previous ones), a day-grain
  history whose baseline misses some days, dates as text, a numeric column with gaps.
- ``range``: no segment, one period, a previous period one property lacks, closed funnels (exact steps)
  with and without a period column.
- ``empty``: no rows at all.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ga4kit.config.model import Chain, Derive, Goal, GoalsConfig, PropertyRef

GOLDEN = Path(__file__).resolve().parent / "golden" / "chains_golden.pkl.gz"

CH = "sessionDefaultChannelGroup"
DEV = "deviceCategory"
ALL = "(all)"

CONFIG = GoalsConfig(
    version=1,
    properties=(PropertyRef("111"), PropertyRef("222"), PropertyRef("333"), PropertyRef("444")),
    goals=(Goal("view_item", "micro", "milestone"), Goal("add_to_cart", "micro", "milestone"),
           Goal("begin_checkout", "micro", "milestone"),  # never in the data
           Goal("newsletter_signup", "micro", "secondary"),
           Goal("view_pricing", "micro", "milestone", derive=Derive(source="page_view")),
           Goal("purchase", "macro")),
    chains=(Chain("checkout", ("view_item", "add_to_cart", "begin_checkout", "purchase")),
            Chain("content", ("newsletter_signup", "purchase")),
            Chain("pricing", ("view_pricing", "add_to_cart", "purchase"))),
)
GOAL_INFO = {g.event: (g.type, g.kind) for g in CONFIG.goals}
# Typical share of a segment's users doing each event (begin_checkout: never sent).
SHARE = {"view_item": 0.45, "add_to_cart": 0.12, "newsletter_signup": 0.02, "view_pricing": 0.08,
         "purchase": 0.04, "page_view": 0.9}


def _frames(rng, props, periods, segments: dict[str, list[str]], *, drop=0.08, stop=None, silent=(),
            prefixed=(), nan_all=(), invert=0.0):
    """Events and baseline rows for every property × period × segment combination.

    periods: (label, start, end); stop: {property: (event, first day without it)}; silent: properties that
    send no goal event; prefixed: properties spelt properties/N in the events; nan_all: properties with NaN
    instead of "(all)" in both frames; invert: share of rows where purchase outgrows add_to_cart.
    """
    stop = stop or {}
    seg_names = list(segments)
    combos = [dict(zip(seg_names, vals)) for vals in
              (np.array(np.meshgrid(*segments.values(), indexing="ij")).reshape(len(segments), -1).T
               if segments else [()])]
    ev, bl = [], []
    for prop in props:
        scale = {"111": 400, "222": 150, "333": 90}.get(prop, 50)
        for label, start, end in periods:
            days = (end - start).days + 1
            for combo in combos:
                seg = {k: (None if prop in nan_all and v == ALL else v) for k, v in combo.items()}
                is_all = all(v == ALL for v in combo.values())
                users = int(rng.poisson(scale * days * (3 if is_all else 1)))
                key = dict(property=prop, period=label, period_start=start, period_end=end, **seg)
                bl.append({**key, "users": users, "sessions": int(users * 1.4)})
                for event, share in SHARE.items():
                    if prop in silent and event != "page_view":
                        continue
                    if prop in stop and stop[prop][0] == event and start >= stop[prop][1]:
                        continue
                    if rng.random() < drop:
                        continue  # a goal with no row at all counts as zero
                    u = int(rng.binomial(users, share))
                    if event == "purchase" and rng.random() < invert:
                        u = int(u * 5 + 3)
                    n = int(u * 1.3)
                    gt, gk = GOAL_INFO.get(event, (None, None))
                    ev.append({**key, "property": f"properties/{prop}" if prop in prefixed else prop,
                               "event": event, "goal_type": gt, "goal_kind": gk, "event_count": n,
                               "users": u, "value": round(n * 2.5, 2), "key_events": float(n)})
    return pd.DataFrame(ev), pd.DataFrame(bl)


def _days(start: dt.date, n: int):
    return [(f"{d:%Y-%m-%d}", pd.Timestamp(d), pd.Timestamp(d)) for d in
            (start + dt.timedelta(days=i) for i in range(n))]


def day_case():
    rng = np.random.default_rng(20261101)
    segs = {CH: ["Organic Search", "Paid Search", "Direct", ALL]}
    kw = dict(silent=("333",), prefixed=("222",), nan_all=("222",))
    cur = _days(dt.date(2026, 11, 1), 21)
    prev = _days(dt.date(2026, 10, 11), 21)
    ev, bl = _frames(rng, ["111", "222", "333"], cur, segs, invert=0.15,
                     stop={"111": ("add_to_cart", pd.Timestamp("2026-11-15"))}, **kw)
    pev, pbl = _frames(rng, ["111", "222", "333"], prev, segs, invert=0.05, **kw)
    # 222's data starts on 2026-10-20: nothing before.
    early = (pd.to_datetime(pbl["period_start"]) < "2026-10-20") & (pbl["property"] == "222")
    pbl = pbl[~early]
    pev = pev[~((pd.to_datetime(pev["period_start"]) < "2026-10-20") & (pev["property"] == "properties/222"))]
    ev = pd.concat([ev, ev.head(3).assign(event="not_a_goal", goal_type=None, goal_kind=None)], ignore_index=True)
    hev, hbl = pd.concat([pev, ev], ignore_index=True), pd.concat([pbl, bl], ignore_index=True)
    # Two days of one segment without a baseline row: all_users unknown there.
    bl = bl[~((bl["property"] == "111") & (bl[CH] == "Direct") & bl["period"].isin(["2026-11-03", "2026-11-04"]))]
    return dict(
        segments=[CH], events=ev, baseline=bl, previous=(pev, pbl), history=(hev, hbl),
        today={"111": dt.date(2026, 11, 21), "222": dt.date(2026, 11, 25)},
        data_start={"222": dt.date(2026, 10, 20), "properties/111": dt.date(2026, 10, 11)},
        metadata={"111": {"subject_to_thresholding": True, "sampling_metadatas": [
            {"samples_read_count": 10, "sampling_space_size": 40}]},
            "properties/222": {"data_loss_from_other_row": True}},
        properties=["111", "properties/222", "333", "444"],
        funnel=None,
    )


def week_case():
    rng = np.random.default_rng(45)
    segs = {CH: ["Organic Search", "Email", ALL], DEV: ["desktop", "mobile", ALL]}
    ts = pd.Timestamp
    cur = [("2026-W45", ts("2026-11-04"), ts("2026-11-08")), ("2026-W46", ts("2026-11-09"), ts("2026-11-15")),
           ("2026-W47", ts("2026-11-16"), ts("2026-11-22")), ("2026-W48", ts("2026-11-23"), ts("2026-11-24"))]
    prev = [("2026-W42", ts("2026-10-13"), ts("2026-10-18")), ("2026-W43", ts("2026-10-19"), ts("2026-10-25")),
            ("2026-W44", ts("2026-10-26"), ts("2026-11-01")), ("2026-W45p", ts("2026-11-02"), ts("2026-11-03"))]
    ev, bl = _frames(rng, ["111", "222"], cur, segs, drop=0.15, invert=0.2)
    pev, pbl = _frames(rng, ["111", "222"], prev, segs, drop=0.1)
    # History: the days of both ranges over all traffic; 222's add_to_cart stops on 2026-11-12, and some
    # days have no baseline row (traffic then means "any event recorded").
    hdays = _days(dt.date(2026, 10, 14), 42)
    hev, hbl = _frames(rng, ["111", "222"], hdays, {CH: [ALL], DEV: [ALL]}, drop=0.02,
                       stop={"222": ("add_to_cart", pd.Timestamp("2026-11-12"))})
    hbl = hbl[~hbl["period"].isin(["2026-10-20", "2026-11-13", "2026-11-14"])]
    for f in (ev, bl, pev, pbl, hev, hbl):  # dates as text, as a CSV read back would hold them
        f["period_start"] = f["period_start"].dt.strftime("%Y-%m-%d")
    ev["value"] = ev["value"].astype(object)
    ev.loc[ev.index[::7], "value"] = None
    ev["key_events"] = ev["key_events"].astype("int64")
    return dict(
        segments=[CH, DEV], events=ev, baseline=bl, previous={"events": pev, "baseline": pbl},
        history=(hev, hbl), today=dt.date(2026, 11, 24), data_start=None,
        metadata={"subject_to_thresholding": True}, properties=None, funnel=None,
    )


def range_case():
    rng = np.random.default_rng(7)
    ts = pd.Timestamp
    cur = [("2026-11-01..2026-11-28", ts("2026-11-01"), ts("2026-11-28"))]
    prev = [("2026-10-04..2026-10-31", ts("2026-10-04"), ts("2026-10-31"))]
    ev, bl = _frames(rng, ["111", "222", "333"], cur, {}, drop=0.0, invert=0.3)
    pev, _ = _frames(rng, ["111", "222"], prev, {}, drop=0.1)  # 333 has no previous data; no baseline
    funnel = pd.DataFrame([
        dict(property=f"properties/{p}", chain=c.name, step_index=i + 1, step=s, users_exact=int(u))
        for p in ("111", "222") for c in CONFIG.chains
        for i, (s, u) in enumerate(zip(c.steps, sorted(rng.integers(0, 3000, len(c.steps)), reverse=True)))])
    funnel_periods = funnel[funnel["property"] == "properties/111"].assign(period=cur[0][0])
    return dict(
        segments=[], events=ev, baseline=bl, previous=(pev, None), history=pev, today=None,
        data_start={"111": dt.date(2026, 10, 10)}, metadata=None, properties=["111", "222", "333"],
        funnel=funnel, funnel_periods=funnel_periods,
    )


def empty_case():
    """No rows: an events frame with its columns but no row, a baseline without columns."""
    ev = pd.DataFrame({c: pd.Series(dtype="object") for c in (
        "property", "period", "period_start", "period_end", CH, "event", "goal_type", "goal_kind",
        "event_count", "users", "value", "key_events")})
    return dict(segments=[CH], events=ev, baseline=pd.DataFrame(), previous=(pd.DataFrame(), None),
                history=None, today=dt.date(2026, 11, 24), data_start=None, metadata=None, properties=["111"],
                funnel=None)


CASES = {"day": day_case, "week": week_case, "range": range_case, "empty": empty_case}


def outputs(case: dict, chains_mod, flags_mod) -> dict[str, pd.DataFrame]:
    """Every output frame of one case, by name."""
    C, F = chains_mod, flags_mod
    ev, bl, segs = case["events"], case["baseline"], case["segments"]
    kw = dict(today=case["today"], data_start=case["data_start"])
    out = {
        "chains": C.compute_chains(ev, bl, CONFIG, segs),
        "chains_today": C.compute_chains(ev, bl, CONFIG, segs, today=case["today"]),
        "chains_prev": C.compute_chains(ev, bl, CONFIG, segs, previous=case["previous"], **kw),
        "goals": C.goal_summary(ev, bl, CONFIG, segs),
        "goals_prev": C.goal_summary(ev, bl, CONFIG, segs, previous=case["previous"], **kw),
        "flags": F.flags(ev, bl, CONFIG, segs),
        "flags_full": F.flags(ev, bl, CONFIG, segs, history=case["history"], metadata=case["metadata"],
                              properties=case["properties"]),
        "flags_loose": F.flags(ev, bl, CONFIG, segs, history=case["history"], min_history=2,
                               min_fire_share=0.3, min_expected=5.0),
    }
    out["caveats"] = F.caveat_flags(out["goals_prev"], segs)
    out["all_flags"] = F.sort_flags([out["flags_full"], out["caveats"], F.make_flags(
        [{"property": "properties/999", "flag": "not_pulled", "severity": "error", "message": "x"}], segs)], segs)
    if case.get("funnel") is not None:
        out["exact"] = C.exact_steps(out["chains_prev"], case["funnel"], segs)
        out["exact_periods"] = C.exact_steps(out["chains"], case["funnel_periods"], segs)
    return out


def all_outputs(chains_mod, flags_mod) -> dict[str, pd.DataFrame]:
    return {f"{name}/{key}": frame for name, make in CASES.items()
            for key, frame in outputs(make(), chains_mod, flags_mod).items()}


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    from ga4kit import chains as _C

    try:
        from ga4kit import flags as _F
    except ImportError:  # before the split the flags lived in ga4kit.chains
        _F = _C
    frames = all_outputs(_C, _F)
    GOLDEN.parent.mkdir(exist_ok=True)
    pd.to_pickle(frames, GOLDEN)
    for k, f in frames.items():
        print(f"{k}: {f.shape}")
