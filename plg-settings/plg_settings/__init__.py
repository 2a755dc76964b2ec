"""Strict settings for the PLG CRM plugins: refuse a bad config with one line per problem."""

from plg_settings.plugin import StrictSettingsPlugin
from plg_settings.problems import SettingProblems, SettingsError, did_you_mean, setting_path
from plg_settings.validation import settings_problems

__all__ = [
    "SettingProblems",
    "SettingsError",
    "StrictSettingsPlugin",
    "did_you_mean",
    "setting_path",
    "settings_problems",
]
