"""`plg-transform dbt-models`: write the dbt package's models for the mapper's config.

    plg-transform dbt-models --config transform.json --project dbt/plg_scores

Takes the mapper's own config (validated the same way) and writes the models the
transform's scoring steps generate for it (dbt_models.py) into the dbt project.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import click

from plg_transform.dbt_models import GenerationError, generate, write_package
from plg_transform.dbt_rules import RuleNotGeneratedError
from plg_transform.explain_command import _configured


def dbt_models_command(plugin_cls: t.Any) -> click.Command:
    """The `dbt-models` subcommand for the mapper class `plugin_cls` (see _PluginClass)."""

    @click.command(name="dbt-models")
    @click.option(
        "--config",
        multiple=True,
        default=(),
        callback=plugin_cls.cb_config,
        help="The mapper's configuration file(s) or 'ENV' (also accepted before the command).",
    )
    @click.option(
        "--project",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("dbt/plg_scores"),
        show_default=True,
        help="The dbt project to write models/generated/ and macros/plg_functions.sql into.",
    )
    @click.pass_context
    def dbt_models_cli(ctx: click.Context, config: t.Any, project: Path) -> None:
        """Write the dbt models computing this config's scores in a warehouse."""
        plugin = _configured(ctx, plugin_cls, config)
        try:
            written = write_package(generate(plugin.settings), project)
        except (GenerationError, RuleNotGeneratedError) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"wrote {len(written)} files into {project}")

    return dbt_models_cli
