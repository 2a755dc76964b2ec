"""The mixin that makes a singer-sdk plugin refuse its config in these words."""

from __future__ import annotations

import typing as t

from plg_settings.problems import SettingProblems
from plg_settings.validation import settings_problems, without_nulls


class StrictSettingsPlugin:
    """Mix into a singer-sdk `Tap`, `Target` or `InlineMapper` (before the SDK class).

    Unknown keys are refused at every level where the schema says
    `additionalProperties: false` (the plugins declare that everywhere; the SDK's own
    settings, stream maps, flattening, batch_config, are in the schema it extends).
    Then `check_settings(config, problems)` runs for what JSON Schema cannot say; it sees
    a config whose types and defaults are already right.
    """

    name: str
    config_jsonschema: t.ClassVar[dict]
    _config: dict

    if t.TYPE_CHECKING:
        # Provided by the SDK's PluginBase. Declared for the type checker only: a method
        # here would come first in the MRO and hide the SDK's.
        @classmethod
        def append_builtin_config(cls, config_jsonschema: dict) -> None: ...

    def check_settings(self, config: t.Mapping[str, t.Any], problems: SettingProblems) -> None:
        """Plugin-specific checks beyond the schema; add each problem to `problems`."""

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        schema = self.config_jsonschema
        self.append_builtin_config(schema)
        self._config = without_nulls(self._config)
        problems = SettingProblems(self.name)
        problems.extend(settings_problems(schema, self._config))
        if not problems:
            self.check_settings(self._config, problems)
        if raise_errors:
            problems.raise_if_any()
        return list(problems.lines)
