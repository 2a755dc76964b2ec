"""The CRM object types the target writes, named as the streams that carry them."""

CONTACTS = "contacts"
COMPANIES = "companies"
ASSOCIATIONS = "associations"
