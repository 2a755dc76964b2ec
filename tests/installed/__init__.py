"""Tests of the tap as users install it: its own venv, the latest versions its ranges allow."""
