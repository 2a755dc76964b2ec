"""target-plg-crm."""
