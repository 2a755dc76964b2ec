"""The mapper's settings: JSON schema for --about, and their parsing into dataclasses."""

from __future__ import annotations

import math
import re
import typing as t
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

from plg_transform.timestamps import parse_instant

DEFAULT_STORE_PATH = ".plg/store.duckdb"
DEFAULT_STORE_MEMORY_LIMIT = "512MB"
# What DuckDB's memory_limit accepts that is a fixed size (not a share of the machine).
_MEMORY_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)", re.IGNORECASE)
_MIN_MEMORY_BYTES = 128 * 1000**2  # DuckDB's JSON reader alone takes 64 MB
_UNIT_BYTES = {
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
}
ENTITY_KINDS = ("user", "account", "membership")

_RULE_SCHEMA = th.StringType
_APPLIES_TO = th.StringType(allowed_values=list(ENTITY_KINDS))

CONFIG_JSONSCHEMA = th.PropertiesList(
    th.Property(
        "store_path",
        th.StringType,
        default=DEFAULT_STORE_PATH,
        description=(
            "DuckDB file that keeps every deduplicated message between runs (relative paths "
            "are read from the working directory, the Meltano project root under Meltano). "
            "Deleting it requires `meltano run --full-refresh`."
        ),
    ),
    th.Property(
        "store_memory_limit",
        th.StringType,
        default=DEFAULT_STORE_MEMORY_LIMIT,
        description=(
            "Most memory DuckDB may use for the store (e.g. 512MB, 2GB; at least 128MB). "
            "Beyond it, staged input and large intermediate results spill to a folder next "
            "to the store (`<store_path>.tmp`), so memory does not grow with the number of "
            "events; larger limits spill less."
        ),
    ),
    th.Property(
        "as_of",
        th.DateTimeType,
        description=(
            "Compute everything as of this instant (ISO 8601; no offset = UTC). "
            "Default: the start of the run."
        ),
    ),
    th.Property(
        "window_days",
        th.IntegerType,
        default=30,
        description="Length in whole UTC days of the current (and previous) scoring window.",
    ),
    th.Property(
        "events",
        th.ObjectType(
            additional_properties=th.ObjectType(
                th.Property("weight", th.NumberType, required=True),
                th.Property("feature", th.StringType),
                additional_properties=False,
            )
        ),
        description=(
            "Event name -> {weight: number >= 0, feature: optional feature name}. "
            "Empty: every track event weighs 1."
        ),
    ),
    th.Property(
        "default_weight",
        th.NumberType,
        default=0,
        description="Weight of an event not listed in `events` (when `events` is not empty).",
    ),
    th.Property(
        "daily_cap",
        th.IntegerType,
        default=20,
        description=(
            "At most this many occurrences of one event per UTC date count towards scores, "
            "per user and per membership (0 = no cap)."
        ),
    ),
    th.Property(
        "score_reference",
        th.ObjectType(
            th.Property("user", th.NumberType, description="Reference raw value for user scores."),
            th.Property(
                "account", th.NumberType, description="Reference raw value for account scores."
            ),
            th.Property(
                "membership",
                th.NumberType,
                description="Reference raw value for membership scores.",
            ),
            additional_properties=False,
        ),
        description=(
            "Raw value that maps to a score of 90, per entity kind (> 0). "
            "Unset: the population's nearest-rank 90th percentile."
        ),
    ),
    th.Property(
        "account_id_paths",
        th.ArrayType(th.StringType),
        default=["context.groupId", "properties.groupId"],
        description=(
            "Dotted paths in a track event tried in order for its account id; the first "
            "non-empty string or number wins. Changing it requires rebuilding the store."
        ),
    ),
    th.Property(
        "membership_traits",
        th.ArrayType(th.StringType),
        default=["role"],
        description="Keys of `group` traits that describe the user-account membership.",
    ),
    th.Property(
        "activation",
        th.ObjectType(
            th.Property(
                "milestones",
                th.ArrayType(
                    th.ObjectType(
                        th.Property("name", th.StringType, required=True),
                        th.Property("event", th.StringType, required=True),
                        th.Property("count", th.IntegerType),
                        additional_properties=False,
                    )
                ),
                description="Ordered list of {name, event, count}.",
            ),
            additional_properties=False,
        ),
        description=(
            "Activation milestones [{name, event, count (default 1)}]: a milestone is "
            "completed at the count-th occurrence of its event."
        ),
    ),
    th.Property(
        "pql",
        _RULE_SCHEMA,
        description="SQL boolean expression over contact fields -> `is_pql`.",
    ),
    th.Property(
        "pqa",
        _RULE_SCHEMA,
        description="SQL boolean expression over company fields -> `is_pqa`.",
    ),
    th.Property(
        "segments",
        th.ArrayType(
            th.ObjectType(
                th.Property("name", th.StringType, required=True),
                th.Property("when", _RULE_SCHEMA, required=True),
                th.Property("applies_to", _APPLIES_TO),
                additional_properties=False,
            )
        ),
        description=(
            "[{name, when, applies_to: user|account|membership (default user)}] -> "
            "`segments`: matching names in config order joined with `;`."
        ),
    ),
    th.Property(
        "lifecycle",
        th.ArrayType(
            th.ObjectType(
                th.Property("stage", th.StringType, required=True),
                th.Property("when", _RULE_SCHEMA, required=True),
                th.Property("applies_to", _APPLIES_TO),
                additional_properties=False,
            )
        ),
        description="[{stage, when, applies_to}] -> `lifecycle_stage`: the first matching stage.",
    ),
    th.Property(
        "user_traits",
        th.ArrayType(th.StringType),
        description="User trait names copied to contacts as fields of the same name.",
    ),
    th.Property(
        "account_traits",
        th.ArrayType(th.StringType),
        description="Account trait names copied to companies as fields of the same name.",
    ),
    th.Property(
        "strict",
        th.BooleanType,
        default=False,
        description=(
            "Stop at the first bad input message (or invalid email) instead of counting "
            "and reporting it."
        ),
    ),
).to_dict()


@dataclass(frozen=True)
class EventScoring:
    """How one event counts: its weight and the feature it belongs to."""

    weight: float
    feature: str | None


@dataclass(frozen=True)
class Milestone:
    """An activation step: the count-th occurrence of an event."""

    name: str
    event: str
    count: int


@dataclass(frozen=True)
class Rule:
    """A named SQL boolean expression evaluated on records of one entity kind."""

    setting: str  # e.g. "segments[2].when", for error messages
    name: str
    when: str
    applies_to: str


@dataclass(frozen=True)
class Settings:
    """All settings of one run, validated."""

    store_path: Path
    store_memory_limit: str
    as_of_us: int | None
    window_days: int
    events: dict[str, EventScoring]
    default_weight: float
    daily_cap: int
    score_reference: dict[str, float]
    account_id_paths: tuple[str, ...]
    membership_traits: tuple[str, ...]
    milestones: tuple[Milestone, ...]
    pql: Rule | None
    pqa: Rule | None
    segments: tuple[Rule, ...]
    lifecycle: tuple[Rule, ...]
    user_traits: tuple[str, ...]
    account_traits: tuple[str, ...]
    strict: bool

    @property
    def unlisted_weight(self) -> float:
        """Weight of an event absent from `events` (1 when `events` is empty)."""
        return self.default_weight if self.events else 1.0

    @property
    def features(self) -> list[str]:
        """The distinct configured features, sorted."""
        return sorted({e.feature for e in self.events.values() if e.feature is not None})

    def rules(self) -> list[Rule]:
        """Every configured rule, in config order."""
        found = [r for r in (self.pql, self.pqa) if r is not None]
        return found + list(self.segments) + list(self.lifecycle)


class _Problems:
    """Collects configuration errors so that all of them are reported at once."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, setting: str, message: str) -> None:
        self.errors.append(f"{setting}: {message}")


def _is_number(value: object) -> t.TypeGuard[int | float | Decimal]:
    # The SDK reads the config file with decimal.Decimal for non-integers.
    return (
        isinstance(value, int | float | Decimal)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _names(config: dict, key: str, default: list[str], problems: _Problems) -> tuple[str, ...]:
    value = config.get(key)
    if value is None:
        return tuple(default)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.add(key, "must be a list of non-empty strings")
        return ()
    if len(set(value)) != len(value):
        problems.add(key, "lists a name twice")
    return tuple(value)


def _memory_limit(config: dict, problems: _Problems) -> str:
    value = config.get("store_memory_limit")
    if value is None:
        return DEFAULT_STORE_MEMORY_LIMIT
    match = _MEMORY_SIZE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        problems.add(
            "store_memory_limit",
            f"must be a size such as 512MB or 2GB (units B, KB, MB, GB, TB, KiB, MiB, GiB, "
            f"TiB), got {value!r}",
        )
        return DEFAULT_STORE_MEMORY_LIMIT
    if float(match.group(1)) * _UNIT_BYTES[match.group(2).upper()] < _MIN_MEMORY_BYTES:
        problems.add("store_memory_limit", f"must be at least 128MB, got {value!r}")
        return DEFAULT_STORE_MEMORY_LIMIT
    return match.group(0)


def _rule(setting: str, name: str, when: object, applies_to: str, problems: _Problems) -> Rule:
    if not isinstance(when, str) or not when.strip():
        problems.add(setting, "must be a non-empty SQL boolean expression")
        when = "false"
    return Rule(setting=setting, name=name, when=t.cast(str, when), applies_to=applies_to)


def _rule_list(config: dict, key: str, name_key: str, problems: _Problems) -> tuple[Rule, ...]:
    items = config.get(key) or []
    if not isinstance(items, list):
        problems.add(key, "must be a list")
        return ()
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"{key}[{i}]"
        if not isinstance(item, dict):
            problems.add(where, "must be an object")
            continue
        unknown = set(item) - {name_key, "when", "applies_to"}
        if unknown:
            problems.add(where, f"unknown key(s) {sorted(unknown)}")
        name = item.get(name_key)
        if not isinstance(name, str) or not name:
            problems.add(f"{where}.{name_key}", "must be a non-empty string")
            name = f"#{i}"
        elif name in seen and key == "segments":
            problems.add(f"{where}.{name_key}", f"duplicate segment name {name!r}")
        seen.add(name)
        applies_to = item.get("applies_to") or "user"
        if applies_to not in ENTITY_KINDS:
            problems.add(f"{where}.applies_to", f"must be one of {list(ENTITY_KINDS)}")
            applies_to = "user"
        rules.append(_rule(f"{where}.when", name, item.get("when"), applies_to, problems))
    return tuple(rules)


def _events(config: dict, problems: _Problems) -> dict[str, EventScoring]:
    raw = config.get("events") or {}
    if not isinstance(raw, dict):
        problems.add("events", "must be an object mapping event names to {weight, feature}")
        return {}
    events: dict[str, EventScoring] = {}
    for name, entry in raw.items():
        where = f"events[{name!r}]"
        if not isinstance(entry, dict):
            problems.add(where, "must be an object {weight, feature}")
            continue
        unknown = set(entry) - {"weight", "feature"}
        if unknown:
            problems.add(where, f"unknown key(s) {sorted(unknown)}; allowed: weight, feature")
        given = entry.get("weight")
        weight: int | float | Decimal = 0
        if _is_number(given) and given >= 0:
            weight = given
        else:
            problems.add(f"{where}.weight", f"must be a number >= 0, got {given!r}")
        feature = entry.get("feature")
        if feature is not None and (not isinstance(feature, str) or not feature):
            problems.add(f"{where}.feature", "must be a non-empty string")
            feature = None
        events[name] = EventScoring(weight=float(weight), feature=feature)
    return events


def _milestones(config: dict, problems: _Problems) -> tuple[Milestone, ...]:
    activation = config.get("activation") or {}
    if not isinstance(activation, dict):
        problems.add("activation", "must be an object {milestones: [...]}")
        return ()
    unknown = set(activation) - {"milestones"}
    if unknown:
        problems.add("activation", f"unknown key(s) {sorted(unknown)}")
    items = activation.get("milestones") or []
    if not isinstance(items, list):
        problems.add("activation.milestones", "must be a list")
        return ()
    milestones: list[Milestone] = []
    for i, item in enumerate(items):
        where = f"activation.milestones[{i}]"
        if not isinstance(item, dict):
            problems.add(where, "must be an object {name, event, count}")
            continue
        unknown = set(item) - {"name", "event", "count"}
        if unknown:
            problems.add(where, f"unknown key(s) {sorted(unknown)}")
        name, event, count = item.get("name"), item.get("event"), item.get("count", 1)
        if not isinstance(name, str) or not name:
            problems.add(f"{where}.name", "must be a non-empty string")
        elif any(m.name == name for m in milestones):
            problems.add(f"{where}.name", f"duplicate milestone name {name!r}")
        if not isinstance(event, str) or not event:
            problems.add(f"{where}.event", "must be a non-empty event name")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            problems.add(f"{where}.count", f"must be an integer >= 1, got {count!r}")
            count = 1
        milestones.append(Milestone(name=str(name), event=str(event), count=count))
    return tuple(milestones)


def parse_settings(config: t.Mapping[str, t.Any]) -> Settings:
    """Validate the raw config and return typed settings.

    Raises:
        ConfigValidationError: naming every wrong setting.
    """
    cfg = dict(config)
    problems = _Problems()

    store_path = cfg.get("store_path") or DEFAULT_STORE_PATH
    if not isinstance(store_path, str):
        problems.add("store_path", "must be a file path")
        store_path = DEFAULT_STORE_PATH

    store_memory_limit = _memory_limit(cfg, problems)

    as_of_us = None
    if cfg.get("as_of") is not None:
        as_of_us = parse_instant(cfg["as_of"])
        if as_of_us is None:
            problems.add("as_of", f"not an ISO 8601 date-time: {cfg['as_of']!r}")

    window_days = cfg.get("window_days", 30)
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        problems.add("window_days", f"must be an integer >= 1, got {window_days!r}")
        window_days = 30

    default_weight = cfg.get("default_weight", 0)
    if not _is_number(default_weight) or default_weight < 0:
        problems.add("default_weight", f"must be a number >= 0, got {default_weight!r}")
        default_weight = 0

    daily_cap = cfg.get("daily_cap", 20)
    if isinstance(daily_cap, bool) or not isinstance(daily_cap, int) or daily_cap < 0:
        problems.add("daily_cap", f"must be an integer >= 0 (0 = no cap), got {daily_cap!r}")
        daily_cap = 20

    reference: dict[str, float] = {}
    raw_reference = cfg.get("score_reference") or {}
    if not isinstance(raw_reference, dict):
        problems.add("score_reference", "must be an object {user, account, membership}")
        raw_reference = {}
    for kind, value in raw_reference.items():
        if kind not in ENTITY_KINDS:
            problems.add(f"score_reference.{kind}", f"unknown kind; allowed: {ENTITY_KINDS}")
        elif value is not None:
            if not _is_number(value) or value <= 0:
                problems.add(f"score_reference.{kind}", f"must be a number > 0, got {value!r}")
            else:
                reference[kind] = float(value)

    paths = _names(cfg, "account_id_paths", ["context.groupId", "properties.groupId"], problems)
    for i, path in enumerate(paths):
        if any(not part for part in path.split(".")):
            problems.add(f"account_id_paths[{i}]", f"not a dotted path: {path!r}")

    membership_traits = _names(cfg, "membership_traits", ["role"], problems)
    user_traits = _names(cfg, "user_traits", [], problems)
    account_traits = _names(cfg, "account_traits", [], problems)

    def single_rule(key: str, applies_to: str) -> Rule | None:
        if cfg.get(key) is None:
            return None
        return _rule(key, key, cfg[key], applies_to, problems)

    strict = cfg.get("strict", False)
    if not isinstance(strict, bool):
        problems.add("strict", "must be true or false")
        strict = False

    settings = Settings(
        store_path=Path(store_path),
        store_memory_limit=store_memory_limit,
        as_of_us=as_of_us,
        window_days=window_days,
        events=_events(cfg, problems),
        default_weight=float(default_weight),
        daily_cap=daily_cap,
        score_reference=reference,
        account_id_paths=paths,
        membership_traits=membership_traits,
        milestones=_milestones(cfg, problems),
        pql=single_rule("pql", "user"),
        pqa=single_rule("pqa", "account"),
        segments=_rule_list(cfg, "segments", "name", problems),
        lifecycle=_rule_list(cfg, "lifecycle", "stage", problems),
        user_traits=user_traits,
        account_traits=account_traits,
        strict=strict,
    )
    if problems.errors:
        raise ConfigValidationError("Invalid plg-transform settings", errors=problems.errors)
    return settings
