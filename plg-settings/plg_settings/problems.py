"""How a plugin reports a wrong setting: one line per problem, naming the setting."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

from singer_sdk.exceptions import ConfigValidationError

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def setting_path(parts: Iterable[str | int]) -> str:
    """A setting's name as a user writes it: `events_sql.tables.tracks`, `segments[2].when`.

    Keys that are not plain identifiers (event names such as `Signed Up`) are quoted:
    `events["Signed Up"].weight`.
    """
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            text += f".{part}" if text else part
        else:
            text += f'["{part}"]'
    return text or "(config)"


def nearest(name: str, choices: Iterable[str]) -> str | None:
    """The valid name a typo most likely meant, if one is close enough to say so."""
    options = [choice for choice in choices if isinstance(choice, str)]
    found = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if not found:
        lowered = {option.lower(): option for option in options}
        found = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
        found = [lowered[found[0]]] if found else []
    return found[0] if found else None


#: Keys YAML 1.1 reads as booleans, as they reach a plugin, and the name they were written as.
_YAML_11_BOOLEAN_KEYS = {"true": "on", "false": "off", "True": "on", "False": "off"}


def did_you_mean(name: str, choices: Sequence[str]) -> str:
    """`; did you mean `x`?` when a valid name is close to `name`, else the valid names."""
    yaml_11_key = _YAML_11_BOOLEAN_KEYS.get(name)
    if yaml_11_key is not None and yaml_11_key in choices:
        # PyYAML and other YAML 1.1 readers turn a bare `on:` key into `true`.
        quoted = f'`"{yaml_11_key}":`'
        return f"; a YAML 1.1 reader took `{yaml_11_key}:` for a boolean: quote it ({quoted})"
    guess = nearest(name, choices)
    if guess is not None:
        return f"; did you mean `{guess}`?"
    if 0 < len(choices) <= 12:
        return "; valid here: " + ", ".join(f"`{choice}`" for choice in sorted(choices))
    return ""


class SettingsError(ConfigValidationError):
    """The config is refused: `errors` holds one line per problem, each naming a setting."""


class SettingProblems:
    """Collects `setting: what is wrong` lines; `raise_if_any` refuses the config.

    Checks that JSON Schema cannot express (a rule that does not parse, a driver that is
    not installed) use this, so their lines read like the schema's own.
    """

    def __init__(self, plugin: str) -> None:
        self.plugin = plugin
        self.lines: list[str] = []

    def add(self, setting: str | Sequence[str | int], message: str) -> None:
        """Record that `setting` (a dotted name or its parts) is wrong, and why."""
        name = setting if isinstance(setting, str) else setting_path(setting)
        line = f"`{name}`: {message}"
        if line not in self.lines:
            self.lines.append(line)

    def extend(self, lines: Iterable[str]) -> None:
        """Add lines already worded by `settings_problems`."""
        for line in lines:
            if line not in self.lines:
                self.lines.append(line)

    def __bool__(self) -> bool:
        return bool(self.lines)

    def raise_if_any(self) -> None:
        """Refuse the config when a problem was found (one line each, no traceback)."""
        if self.lines:
            count = len(self.lines)
            summary = f"{self.plugin}: {count} setting{'s' if count > 1 else ''} to fix"
            raise SettingsError(summary, errors=list(self.lines))
