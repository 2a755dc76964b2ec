"""CRM clients behind one interface (`base.CRMClient`), chosen by the `crm` setting."""

from __future__ import annotations

import logging

from singer_sdk.exceptions import ConfigValidationError

from target_plg_crm.crm.base import CRMClient
from target_plg_crm.crm.dry_run import DryRunCRM
from target_plg_crm.crm.local import LocalCRM
from target_plg_crm.settings import TargetSettings

#: CRMs the `crm` setting names but this version cannot write to yet.
NOT_YET_AVAILABLE = ("hubspot", "salesforce")


def open_crm(settings: TargetSettings, logger: logging.Logger) -> CRMClient:
    """The client for `settings.crm`, wrapped so that a dry run writes nothing."""
    if settings.crm == "local":
        client: CRMClient = LocalCRM(settings.local_path, read_only=settings.dry_run)
    else:
        message = (
            f"crm: {settings.crm!r} is not available in this version of target-plg-crm; use 'local'"
        )
        raise ConfigValidationError(message, errors=[message])
    if settings.dry_run:
        return DryRunCRM(client, logger)
    return client
