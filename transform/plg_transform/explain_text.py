"""An `Explanation` as text a RevOps engineer reads top to bottom, numbers adding up."""

from __future__ import annotations

import json
import math
import typing as t

from plg_transform.explain import Engagement, Explanation, MilestoneProgress, RuleOutcome

_KIND_WORDS = {"user": "users", "account": "accounts", "membership": "memberships"}


def number(value: float | int) -> str:
    """A count or weight as written in the config: 3, 2.5 (never 3.0)."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _value(value: t.Any) -> str:
    """A field value as a rule reads it: true, null, 42, 'text'."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return json.dumps(value)


def _title(x: Explanation) -> str:
    if x.kind == "membership":
        who = f"user {x.key['user_id']} in account {x.key['account_id']}"
    else:
        who = f"{x.kind} {next(iter(x.key.values()))}"
    return f"{x.stream} record of {who}, as of {x.as_of}"


def _windows(x: Explanation) -> list[str]:
    current, previous = x.windows["current"], x.windows["previous"]
    cap = f"daily cap {x.daily_cap} per event and day" if x.daily_cap else "no daily cap"
    scope = {
        "user": "per user",
        "membership": "per user in this account",
        "account": "per user in this account, then summed over its users",
    }[x.kind]
    return [
        f"Windows: current {current[0]} .. {current[1]}, previous {previous[0]} .. "
        f"{previous[1]}; {cap} ({scope})."
    ]


def _events(x: Explanation) -> list[str]:
    if not x.events:
        return ["No scored event (weight > 0) in the current or previous window: raw = 0."]
    header = (
        "event",
        "weight",
        "occurrences",
        "capped away",
        "counted",
        "points",
        "prev counted",
        "prev points",
    )
    rows = [
        (
            e.event,
            number(e.weight),
            str(e.occurrences),
            str(e.capped_away),
            str(e.counted),
            number(e.contribution),
            str(e.previous_counted),
            number(e.previous_contribution),
        )
        for e in x.events
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

    def line(cells: t.Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = "  ".join(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return f"  {first}  {rest}".rstrip()

    current = " + ".join(number(e.contribution) for e in x.events if e.counted)
    previous = " + ".join(number(e.previous_contribution) for e in x.events if e.previous_counted)
    return [
        "Scored events (points = weight x counted; counted = occurrences - capped away):",
        line(header),
        *(line(r) for r in rows),
        f"  raw = {current or '0'} = {number(x.engagement.raw)}",
        f"  previous raw = {previous or '0'} = {number(x.engagement.previous_raw)}",
    ]


def _formula(raw: float, ref: float) -> str:
    inner = 100 * (1 - 10 ** (-raw / ref))
    return (
        f"floor(100 * (1 - 10^(-{number(raw)} / {number(ref)})) + 0.5) = "
        f"floor({inner:.3f} + 0.5) = {math.floor(inner + 0.5)}"
    )


def _engagement(kind: str, e: Engagement) -> list[str]:
    ref = e.reference
    if ref.source == "P90":
        if ref.value is None:
            where = f"no {kind} has raw > 0, so there is no P90 and every score is 0"
        else:
            where = (
                f"P90 of the {ref.population} {_KIND_WORDS[kind]} with raw > 0 (the value at "
                f"rank {ref.rank} of {ref.population}, ascending) = {number(ref.value)}"
            )
    else:
        where = f"{ref.source} (configured) = {number(t.cast(float, ref.value))}"
    lines = ["Engagement score:", f"  reference: {where}"]
    if ref.value is not None:
        lines.append(f"  engagement_score = {_formula(e.raw, ref.value)}")
        lines.append(f"  engagement_score_previous = {_formula(e.previous_raw, ref.value)}")
    else:
        lines.append("  engagement_score = 0, engagement_score_previous = 0")
    lines.append(
        f"  engagement_trend = {e.score} - {e.previous_score} = {e.trend:+d} "
        f"({e.trend_label}: rising at +10 or more, falling at -10 or less)"
    )
    lines.append(f"  score_reasons: {e.score_reasons or '(none)'}")
    return lines


def _milestone(m: MilestoneProgress) -> str:
    target = f"{m.event} x{m.count}"
    if m.reached_at:
        return f"  {m.name}: {target}, reached {m.reached_at}"
    return f"  {m.name}: {target}, not reached ({m.occurrences} of {m.count} so far)"


def _activation(x: Explanation) -> list[str]:
    r = x.record
    if not x.milestones:
        return ["Activation: no milestones configured (activated false)."]
    state = f"activated at {r['activated_at']}" if r["activated"] else "not activated"
    return [
        f"Activation: {r['activation_steps_completed']} of {len(x.milestones)} milestones "
        f"(activation_rate {r['activation_rate']}), {state}:",
        *(_milestone(m) for m in x.milestones),
    ]


def _activity(x: Explanation) -> list[str]:
    r = x.record
    used = r["features_used"] or "none"
    if x.features_configured:
        features = (
            f"Features used in the current window: {used} (of {len(x.features_configured)} "
            f"configured: {', '.join(x.features_configured)}; adoption_rate {r['adoption_rate']})."
        )
    else:
        features = "Features: none configured (adoption_rate null)."
    last = (
        f"last active {r['last_active_at']} ({r['days_since_last_active']} days before as_of)"
        if r["last_active_at"]
        else "never active"
    )
    seen = (
        f"first seen {r['first_seen_at']} (tenure {r['tenure_days']} days)"
        if r["first_seen_at"]
        else "first seen: unknown"
    )
    lines = [
        features,
        f"Activity: {r['active_days']} active days in the current window; {last}; {seen}.",
    ]
    if x.kind == "account":
        lines.append(
            f"Users: {r['active_users']} active in the current window, {r['total_users']} "
            f"in total; champion {r['champion_user_id']}."
        )
    return lines


def _rule(rule: RuleOutcome) -> list[str]:
    verdict = "holds" if rule.holds else "does not hold"
    if not rule.evaluated:
        verdict = "could not be evaluated for this record, read as false"
    label = rule.setting if rule.name == rule.setting else f"{rule.setting} ({rule.name})"
    reads = ", ".join(f"{k} = {_value(v)}" for k, v in rule.fields.items()) or "no field"
    return [f"  {label}: {rule.when}", f"      {verdict}; reads {reads}"]


def _rules(x: Explanation) -> list[str]:
    r = x.record
    outputs = []
    if x.kind == "user":
        outputs.append(f"is_pql {_value(r['is_pql'])}")
    if x.kind == "account":
        outputs.append(f"is_pqa {_value(r['is_pqa'])}")
    outputs.append(f"segments {_value(r['segments'])}")
    stage = r["lifecycle_stage"]
    outputs.append(
        f"lifecycle_stage {_value(stage)}"
        + (" (the first stage whose rule holds)" if stage is not None else " (no stage matched)")
    )
    if not x.rules:
        return [f"Rules: none configured for {_KIND_WORDS[x.kind]}; " + ", ".join(outputs) + "."]
    lines = ["Rules (in config order; NULL and errors read as false):"]
    for rule in x.rules:
        lines += _rule(rule)
    lines.append("  => " + "; ".join(outputs))
    return lines


def _related(x: Explanation) -> list[str]:
    if not x.related:
        return []
    if x.kind == "account":
        total = sum(m["membership_raw"] for m in x.related)
        lines = [
            f"Members ({len(x.related)}), by membership score; their raw values add up to the "
            f"account's ({number(total)}):"
        ]
        champion = x.record.get("champion_user_id")
        for m in x.related:
            tag = " (champion)" if m["user_id"] == champion else ""
            lines.append(
                f"  {m['user_id']}: raw {number(m['membership_raw'])}, "
                f"score {m['membership_score']}{tag}"
            )
        return lines
    primary = x.record.get("primary_account_id")
    lines = [f"Memberships ({len(x.related)}), by membership score:"]
    for m in x.related:
        tag = " (primary account)" if m["account_id"] == primary else ""
        lines.append(
            f"  {m['account_id']}: raw {number(m['membership_raw'])}, "
            f"score {m['membership_score']}{tag}"
        )
    return lines


def render(x: Explanation) -> str:
    """The whole explanation as text, one section after another."""
    sections = [
        [_title(x), *_windows(x)],
        _events(x),
        _engagement(x.kind, x.engagement),
        _activation(x),
        _activity(x),
        _rules(x),
        _related(x),
    ]
    return "\n\n".join("\n".join(s) for s in sections if s) + "\n"
