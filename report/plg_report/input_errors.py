"""The one error every unreadable input ends in: a line that names the file."""


class ReportInputError(Exception):
    """An input file is missing or is not what the report reads; the message names it."""
