"""The error every CRM client raises when a whole request fails and the run must stop."""


class CRMError(Exception):
    """A whole request failed (configuration or contract error): the run must stop."""
