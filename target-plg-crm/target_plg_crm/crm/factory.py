"""The CRM client a run writes to, chosen by the `crm` setting (a dry run wraps it)."""

from __future__ import annotations

import logging

from target_plg_crm.crm.dry_run import DryRunCRM
from target_plg_crm.crm.hubspot.crm import HubSpotCRM
from target_plg_crm.crm.interface import CRMClient
from target_plg_crm.crm.local.crm import LocalCRM
from target_plg_crm.crm.salesforce.crm import SalesforceCRM
from target_plg_crm.crm.salesforce.dry_run import SalesforceDryRunCRM
from target_plg_crm.plan import Plan
from target_plg_crm.settings import TargetSettings


def open_crm(settings: TargetSettings, logger: logging.Logger, plan: Plan | None) -> CRMClient:
    """The client for `settings.crm`, wrapped so that a dry run writes nothing.

    `check_settings` refused every other `crm` at start-up, and checked the credentials
    each CRM needs.
    """
    client: CRMClient
    if settings.hubspot is not None:
        client = HubSpotCRM(settings.hubspot, logger, read_only=settings.dry_run)
    elif settings.salesforce is not None:
        client = SalesforceCRM(
            settings.salesforce,
            settings.property_prefix,
            logger,
            read_only=settings.dry_run,
            company_id_property=settings.company_id_property,
        )
    else:
        client = LocalCRM(
            settings.local_path,
            read_only=settings.dry_run,
            lock_wait_seconds=settings.local_lock_wait_seconds,
        )
    if plan is not None and isinstance(client, SalesforceCRM):
        return SalesforceDryRunCRM(client, plan)
    if plan is not None:
        return DryRunCRM(client, plan)
    return client
