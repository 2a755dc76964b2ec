"""The mapper's settings: declared once (JSON schema), then read into frozen dataclasses.

The declaration carries every type, default, bound and allowed value; singer-sdk and
plg_settings validate the config against it and fill the defaults before
`Settings.from_config` runs, so reading the config here trusts it. What JSON Schema
cannot say is checked in `setting_checks.py`.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from pathlib import Path

from singer_sdk import typing as th

from plg_transform.timestamps import parse_instant

ENTITY_KINDS = ("user", "account", "membership")

# What DuckDB's memory_limit accepts that is a fixed size (not a share of the machine):
# a number and a unit, B, KB, MB, GB, TB or KiB, MiB, GiB, TiB, in any case.
MEMORY_SIZE_PATTERN = r"^\s*\d+(\.\d+)?\s*([KkMmGgTt][Ii]?)?[Bb]\s*$"
# A dotted path into a track event: non-empty parts separated by dots.
DOTTED_PATH_PATTERN = r"^[^.]+(\.[^.]+)*$"


def _names_list() -> th.ArrayType:
    return th.ArrayType(th.StringType(min_length=1))


def _rule(name: str, title: str, description: str, *, required: bool = False) -> th.Property:
    return th.Property(
        name,
        th.StringType(min_length=1),
        required=required,
        title=title,
        description=description,
    )


def _applies_to() -> th.Property:
    return th.Property(
        "applies_to",
        th.StringType,
        default="user",
        allowed_values=list(ENTITY_KINDS),
        title="Applies to",
        description="The records the rule is evaluated on: user, account or membership.",
    )


CONFIG_JSONSCHEMA = th.PropertiesList(
    th.Property(
        "store_path",
        th.StringType(min_length=1),
        default=".plg/store.duckdb",
        title="Store path",
        description=(
            "DuckDB file that keeps every deduplicated message between runs (relative paths "
            "are read from the working directory, the Meltano project root under Meltano). "
            "Deleting it requires `meltano run --full-refresh`."
        ),
    ),
    th.Property(
        "store_memory_limit",
        th.StringType(pattern=MEMORY_SIZE_PATTERN),
        default="512MB",
        title="Store memory limit",
        description=(
            "Most memory DuckDB may use for the store (e.g. 512MB, 2GB; at least 128MB). "
            "Beyond it, staged input and large intermediate results spill to a folder next "
            "to the store (`<store_path>.tmp`), so memory does not grow with the number of "
            "events; larger limits spill less."
        ),
    ),
    th.Property(
        "max_record_bytes",
        th.IntegerType(minimum=4 * 1024 * 1024, maximum=1024 * 1024 * 1024),
        default=16 * 1024 * 1024,
        title="Largest input line (bytes)",
        description=(
            "An input RECORD line longer than this is bad input (`oversize_line`): read "
            "past without being held in memory, reported with its line number and size, and "
            "skipped (fatal with `strict`). STATE lines are always read whole. At least "
            "4 MiB; keep it well under `store_memory_limit`."
        ),
    ),
    th.Property(
        "earliest_event_time",
        th.DateTimeType,
        default="2000-01-01T00:00:00Z",
        title="Earliest event time",
        description=(
            "Event times before this instant are implausible (a device clock at zero, "
            "0001-01-01): the message's `receivedAt` is used instead when it is plausible, "
            "else the message is bad input (`implausible_time`). Reported with examples."
        ),
    ),
    th.Property(
        "max_clock_skew_hours",
        th.IntegerType(minimum=0, maximum=24 * 366),
        default=24,
        title="Largest clock skew (hours)",
        description=(
            "Event times more than this many hours after the run started are implausible "
            "and handled as for `earliest_event_time`: `receivedAt` instead, else the "
            "message is bad input."
        ),
    ),
    th.Property(
        "as_of",
        th.DateTimeType,
        title="As of",
        description=(
            "Compute everything as of this instant (ISO 8601; no offset = UTC). "
            "Default: the start of the run."
        ),
    ),
    th.Property(
        "window_days",
        th.IntegerType(minimum=1),
        default=30,
        title="Window days",
        description="Length in whole UTC days of the current (and previous) scoring window.",
    ),
    th.Property(
        "events",
        th.ObjectType(
            additional_properties=th.ObjectType(
                th.Property(
                    "weight",
                    th.NumberType(minimum=0),
                    required=True,
                    title="Weight",
                    description="How much one occurrence counts towards scores (>= 0).",
                ),
                th.Property(
                    "feature",
                    th.StringType(min_length=1),
                    title="Feature",
                    description="The product feature the event belongs to (features_used).",
                ),
                additional_properties=False,
            )
        ),
        default={},
        title="Events",
        description=(
            "Event name -> {weight: number >= 0, feature: optional feature name}. "
            "Empty: every track event weighs 1."
        ),
    ),
    th.Property(
        "default_weight",
        th.NumberType(minimum=0),
        default=0,
        title="Default weight",
        description="Weight of an event not listed in `events` (when `events` is not empty).",
    ),
    th.Property(
        "daily_cap",
        th.IntegerType(minimum=0),
        default=20,
        title="Daily cap",
        description=(
            "At most this many occurrences of one event per UTC date count towards scores, "
            "per user and per membership (0 = no cap)."
        ),
    ),
    th.Property(
        "score_reference",
        th.ObjectType(
            *(
                th.Property(
                    kind,
                    th.NumberType(exclusive_minimum=0),
                    title=f"{kind.capitalize()} score reference",
                    description=f"Raw value that scores 90 on {records} (> 0).",
                )
                for kind, records in (
                    ("user", "contacts"),
                    ("account", "companies"),
                    ("membership", "associations"),
                )
            ),
            additional_properties=False,
        ),
        default={},
        title="Score reference",
        description=(
            "Raw value that maps to a score of 90, per entity kind (> 0). "
            "Unset: the population's nearest-rank 90th percentile."
        ),
    ),
    th.Property(
        "account_id_paths",
        th.ArrayType(th.StringType(pattern=DOTTED_PATH_PATTERN)),
        default=["context.groupId", "properties.groupId"],
        title="Account id paths",
        description=(
            "Dotted paths in a track event tried in order for its account id; the first "
            "non-empty string or number wins. Changing it requires rebuilding the store."
        ),
        uniqueItems=True,
    ),
    th.Property(
        "membership_traits",
        _names_list(),
        default=["role"],
        title="Membership traits",
        description="Keys of `group` traits that describe the user-account membership.",
        uniqueItems=True,
    ),
    th.Property(
        "activation",
        th.ObjectType(
            th.Property(
                "milestones",
                th.ArrayType(
                    th.ObjectType(
                        th.Property(
                            "name",
                            th.StringType(min_length=1),
                            required=True,
                            title="Name",
                            description="The milestone's name (unique).",
                        ),
                        th.Property(
                            "event",
                            th.StringType(min_length=1),
                            required=True,
                            title="Event",
                            description="The event whose count-th occurrence completes it.",
                        ),
                        th.Property(
                            "count",
                            th.IntegerType(minimum=1),
                            default=1,
                            title="Count",
                            description="Occurrences of the event needed (>= 1).",
                        ),
                        additional_properties=False,
                    )
                ),
                default=[],
                title="Milestones",
                description="Ordered list of {name, event, count}.",
            ),
            additional_properties=False,
        ),
        default={},
        title="Activation",
        description=(
            "Activation milestones [{name, event, count (default 1)}]: a milestone is "
            "completed at the count-th occurrence of its event."
        ),
    ),
    _rule("pql", "PQL rule", "SQL boolean expression over contact fields -> `is_pql`."),
    _rule("pqa", "PQA rule", "SQL boolean expression over company fields -> `is_pqa`."),
    th.Property(
        "segments",
        th.ArrayType(
            th.ObjectType(
                th.Property(
                    "name",
                    th.StringType(min_length=1),
                    required=True,
                    title="Name",
                    description="The segment's name (unique), listed in `segments`.",
                ),
                _rule(
                    "when",
                    "When",
                    "SQL boolean expression over the record's fields.",
                    required=True,
                ),
                _applies_to(),
                additional_properties=False,
            )
        ),
        default=[],
        title="Segments",
        description=(
            "[{name, when, applies_to: user|account|membership (default user)}] -> "
            "`segments`: matching names in config order joined with `;`."
        ),
    ),
    th.Property(
        "lifecycle",
        th.ArrayType(
            th.ObjectType(
                th.Property(
                    "stage",
                    th.StringType(min_length=1),
                    required=True,
                    title="Stage",
                    description="The stage's name, written to `lifecycle_stage`.",
                ),
                _rule(
                    "when",
                    "When",
                    "SQL boolean expression over the record's fields.",
                    required=True,
                ),
                _applies_to(),
                additional_properties=False,
            )
        ),
        default=[],
        title="Lifecycle",
        description="[{stage, when, applies_to}] -> `lifecycle_stage`: the first matching stage.",
    ),
    th.Property(
        "user_traits",
        _names_list(),
        default=[],
        title="User traits",
        description="User trait names copied to contacts as fields of the same name.",
        uniqueItems=True,
    ),
    th.Property(
        "account_traits",
        _names_list(),
        default=[],
        title="Account traits",
        description="Account trait names copied to companies as fields of the same name.",
        uniqueItems=True,
    ),
    th.Property(
        "progress_interval_seconds",
        th.NumberType(minimum=0),
        default=5,
        title="Progress interval (seconds)",
        description=(
            "A run lasting longer logs the input read so far (records, records/s) at most "
            "this often, then one line per phase (staging, storing, scoring, emitting) with "
            "counts and durations; a shorter run logs one summary line. 0 logs everything."
        ),
    ),
    th.Property(
        "strict",
        th.BooleanType,
        default=False,
        title="Strict",
        description=(
            "Stop at the first bad input message (or invalid email) instead of counting "
            "and reporting it."
        ),
    ),
    additional_properties=False,
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

    setting: str  # e.g. "segments[2].when", for messages
    name: str
    when: str
    applies_to: str


@dataclass(frozen=True)
class Settings:
    """All settings of one run, read from a config already validated against the schema."""

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
    progress_interval_seconds: float
    strict: bool
    max_record_bytes: int = 16 * 1024 * 1024
    earliest_event_us: int = 946_684_800_000_000  # 2000-01-01T00:00:00Z
    max_clock_skew_us: int = 86_400_000_000

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> Settings:
        """The typed settings of a config that `CONFIG_JSONSCHEMA` validated and filled.

        Nothing is checked again here: types, bounds and defaults come from the schema.
        """

        def rules(key: str, name_key: str) -> tuple[Rule, ...]:
            return tuple(
                Rule(f"{key}[{i}].when", item[name_key], item["when"], item["applies_to"])
                for i, item in enumerate(config[key])
            )

        def single_rule(key: str, applies_to: str) -> Rule | None:
            when = config.get(key)
            return None if when is None else Rule(key, key, when, applies_to)

        as_of = config.get("as_of")
        return cls(
            store_path=Path(config["store_path"]),
            store_memory_limit=config["store_memory_limit"].strip(),
            as_of_us=None if as_of is None else parse_instant(as_of),
            window_days=config["window_days"],
            events={
                name: EventScoring(weight=float(entry["weight"]), feature=entry.get("feature"))
                for name, entry in config["events"].items()
            },
            default_weight=float(config["default_weight"]),
            daily_cap=config["daily_cap"],
            score_reference={
                kind: float(value) for kind, value in config["score_reference"].items()
            },
            account_id_paths=tuple(config["account_id_paths"]),
            membership_traits=tuple(config["membership_traits"]),
            milestones=tuple(
                Milestone(name=item["name"], event=item["event"], count=item["count"])
                for item in config["activation"]["milestones"]
            ),
            pql=single_rule("pql", "user"),
            pqa=single_rule("pqa", "account"),
            segments=rules("segments", "name"),
            lifecycle=rules("lifecycle", "stage"),
            user_traits=tuple(config["user_traits"]),
            account_traits=tuple(config["account_traits"]),
            progress_interval_seconds=float(config["progress_interval_seconds"]),
            strict=config["strict"],
            max_record_bytes=config["max_record_bytes"],
            earliest_event_us=t.cast(int, parse_instant(config["earliest_event_time"])),
            max_clock_skew_us=config["max_clock_skew_hours"] * 3_600_000_000,
        )

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
