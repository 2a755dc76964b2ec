"""`python -m target_plg_crm`: the same command line as `target-plg-crm`."""

from target_plg_crm.target import TargetPLGCRM

TargetPLGCRM.cli()
