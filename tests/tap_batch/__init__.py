"""Tests of the tap's BATCH output and its match with the RECORD path."""
