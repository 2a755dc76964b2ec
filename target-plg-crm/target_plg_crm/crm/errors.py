"""The error every CRM client raises when a whole request fails and the run must stop."""


class CRMError(Exception):
    """A whole request failed (configuration or contract error): the run must stop."""


class CRMAccessError(CRMError):
    """The CRM refused the run's credentials or reach at start-up: a setting to fix.

    `setting` names the setting the user must change (the token, the base URL); the
    message says why, in one line, without the secret.
    """

    def __init__(self, setting: str, message: str) -> None:
        """`setting` is the one to fix, `message` what HubSpot (or the network) said."""
        super().__init__(message)
        self.setting = setting
