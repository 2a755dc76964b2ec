"""`plg-transform explain`: why one contact, company or association scores what it does.

    plg-transform --config transform.json explain --user u1
    plg-transform explain --config transform.json --account acme [--as-of T] [--format json]
    meltano invoke plg-scores explain --membership u1 acme

The SDK's command line is one click command; here it becomes a click group that still
runs the mapper when no subcommand is given (so every existing invocation is unchanged)
and has the subcommand `explain`. `explain` takes the mapper's own config (`--config`
before or after `explain`, as files or ENV, validated the same way), opens the store at
`store_path` read-only, computes as of the last run's `as_of` (or the `as_of` setting, or
`--as-of`) with the mapper's own code (`scoring.compute_scores`), and prints the
explanation (`explain.py`, `explain_text.py`).
"""

from __future__ import annotations

import dataclasses
import json
import typing as t

import click
from singer_sdk.plugin_base import SingerCommand

from plg_transform.explain import exists, explain
from plg_transform.explain_text import render
from plg_transform.scoring import compute_scores
from plg_transform.snapshot import Snapshot
from plg_transform.store import StoreUnavailableError, last_run_as_of, open_read_only
from plg_transform.timestamps import parse_instant

if t.TYPE_CHECKING:
    import logging

    from plg_transform.settings import Settings


class _ConfiguredPlugin(t.Protocol):
    """The mapper, as far as `explain` needs it: its validated, typed settings."""

    settings: Settings


class _PluginClass(t.Protocol):
    """The mapper class: builds (and so validates) a plugin from a config."""

    name: str
    logger: logging.Logger

    def __call__(
        self, *, config: dict, validate_config: bool, parse_env_config: bool
    ) -> _ConfiguredPlugin: ...

    @classmethod
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> t.Any:
        """Parse `--config` values (files or ENV) as the SDK does."""


class SingerGroup(SingerCommand, click.Group):
    """The SDK's command (same options, error handling and logging) with subcommands."""


class ExplainRefusedError(click.ClickException):
    """Nothing to explain (unknown id, no store): one line, exit 1."""

    def show(self, file: t.IO[t.Any] | None = None) -> None:
        """Print the message alone, without click's `Error:` prefix."""
        click.echo(self.format_message(), err=True, file=file)


def with_explain_command(plugin_cls: t.Any, command: click.Command) -> click.Group:
    """`command` (the SDK's mapper command) as a group that also has `explain`."""
    run_mapper = command.callback
    assert run_mapper is not None

    @click.pass_context
    def run_unless_subcommand(ctx: click.Context, **kwargs: t.Any) -> t.Any:
        if ctx.invoked_subcommand is None:
            return run_mapper(**kwargs)
        return None

    group = SingerGroup(
        name=command.name,
        callback=run_unless_subcommand,
        params=command.params,
        help=command.help,
        context_settings=command.context_settings,
        invoke_without_command=True,
        logger=plugin_cls.logger,
    )
    group.add_command(explain_command(plugin_cls))
    return group


def explain_command(plugin_cls: _PluginClass) -> click.Command:
    """The `explain` subcommand for the mapper class `plugin_cls`."""

    @click.command(name="explain")
    @click.option(
        "--config",
        multiple=True,
        default=(),
        callback=plugin_cls.cb_config,
        help="The mapper's configuration file(s) or 'ENV' (also accepted before `explain`).",
    )
    @click.option("--user", "user_id", metavar="ID", help="Explain this user's contact.")
    @click.option("--account", "account_id", metavar="ID", help="Explain this company.")
    @click.option(
        "--membership",
        nargs=2,
        metavar="USER ACCOUNT",
        default=None,
        help="Explain the association of this user with this account.",
    )
    @click.option(
        "--as-of",
        "as_of",
        metavar="TIME",
        help="Compute as of this ISO 8601 instant (default: the as_of setting, else the "
        "store's last run).",
    )
    @click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="text for people, json for programs.",
    )
    @click.pass_context
    def explain_cli(
        ctx: click.Context,
        config: t.Any,
        user_id: str | None,
        account_id: str | None,
        membership: tuple[str, str] | None,
        as_of: str | None,
        output_format: str,
    ) -> None:
        """Explain the scores, milestones, rules, segments and stage of one record."""
        kind, key = _entity(user_id, account_id, membership)
        plugin = _configured(ctx, plugin_cls, config)
        click.echo(_explained(plugin.settings, kind, key, as_of, output_format), nl=False)

    return explain_cli


def _entity(
    user_id: str | None, account_id: str | None, membership: tuple[str, str] | None
) -> tuple[str, tuple[str, ...]]:
    given = [
        (kind, key)
        for kind, key in (
            ("user", (user_id,) if user_id is not None else None),
            ("account", (account_id,) if account_id is not None else None),
            ("membership", tuple(membership) if membership else None),
        )
        if key is not None
    ]
    if len(given) != 1:
        raise click.UsageError(
            "give exactly one of --user ID, --account ID, --membership USER ACCOUNT"
        )
    return given[0][0], t.cast(tuple[str, ...], given[0][1])


def _configured(ctx: click.Context, plugin_cls: _PluginClass, own: t.Any) -> _ConfiguredPlugin:
    """The mapper built from the config given before and after `explain` (later wins)."""
    before = ctx.parent.params.get("config") if ctx.parent else None
    config: dict = {}
    parse_env = False
    for given in (before, own):
        if given is not None:
            config.update(given.config)
            parse_env = parse_env or given.parse_env
    # stdout is the explanation; the SDK's start-up lines would only be noise on stderr.
    plugin_cls.logger.setLevel("WARNING")
    return plugin_cls(config=config, validate_config=True, parse_env_config=parse_env)


def _explained(
    settings: Settings, kind: str, key: tuple[str, ...], as_of: str | None, output_format: str
) -> str:
    try:
        con = open_read_only(settings.store_path, settings.store_memory_limit)
    except StoreUnavailableError as exc:
        raise ExplainRefusedError(str(exc)) from None
    try:
        as_of_us = _as_of(as_of, settings, last_run_as_of(con))
        snap = Snapshot(con=con, settings=settings, as_of_us=as_of_us)
        scores = compute_scores(snap)
        if not exists(snap, kind, key):
            raise ExplainRefusedError(_unknown(kind, key))
        explanation = explain(snap, scores, kind, key)
    finally:
        con.close()
    if output_format == "json":
        return json.dumps(dataclasses.asdict(explanation), indent=2) + "\n"
    return render(explanation)


def _as_of(option: str | None, settings: Settings, last_run: int | None) -> int:
    if option is not None:
        parsed = parse_instant(option)
        if parsed is None:
            raise click.BadParameter(f"{option!r} is not an ISO 8601 instant", param_hint="--as-of")
        return parsed
    found = settings.as_of_us if settings.as_of_us is not None else last_run
    if found is None:
        raise ExplainRefusedError(
            f"the store at {settings.store_path} has no completed run to explain: run the "
            "pipeline first, or give --as-of"
        )
    return found


def _unknown(kind: str, key: tuple[str, ...]) -> str:
    if kind == "membership":
        return f"no membership of user `{key[0]}` in account `{key[1]}` in the store"
    return f"no {kind} `{key[0]}` in the store"
