"""target-plg-crm: a Singer target writing product-usage scores to CRM contacts and companies."""
