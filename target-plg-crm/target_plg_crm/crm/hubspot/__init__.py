"""The `hubspot` CRM: a HubSpot portal reached with a private app token (API v3/v4)."""
