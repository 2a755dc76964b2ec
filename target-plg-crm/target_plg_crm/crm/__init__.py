"""CRM clients behind one interface (`base.CRMClient`), chosen by the `crm` setting."""

from __future__ import annotations

import logging

from singer_sdk.exceptions import ConfigValidationError

from target_plg_crm.crm.base import CRMClient
from target_plg_crm.crm.dry_run import DryRunCRM
from target_plg_crm.crm.hubspot import HubSpotCRM, HubSpotSettings
from target_plg_crm.crm.hubspot_http import RetryPolicy
from target_plg_crm.crm.local import LocalCRM
from target_plg_crm.settings import TargetSettings

#: CRMs the `crm` setting names but this version cannot write to yet.
NOT_YET_AVAILABLE = ("salesforce",)


def open_crm(settings: TargetSettings, logger: logging.Logger) -> CRMClient:
    """The client for `settings.crm`, wrapped so that a dry run writes nothing."""
    client: CRMClient
    if settings.crm == "local":
        client = LocalCRM(settings.local_path, read_only=settings.dry_run)
    elif settings.crm == "hubspot" and settings.hubspot is not None:
        options = settings.hubspot
        client = HubSpotCRM(
            HubSpotSettings(
                base_url=options.base_url,
                access_token=options.access_token,
                retry=RetryPolicy(
                    max_retries=options.max_retries,
                    backoff_base_seconds=options.backoff_base_seconds,
                    timeout_seconds=options.timeout_seconds,
                ),
            ),
            logger,
            read_only=settings.dry_run,
        )
    else:
        message = (
            f"crm: {settings.crm!r} is not available in this version of target-plg-crm; "
            "use 'local' or 'hubspot'"
        )
        raise ConfigValidationError(message, errors=[message])
    if settings.dry_run:
        return DryRunCRM(client, logger)
    return client
