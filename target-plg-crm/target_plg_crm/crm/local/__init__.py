"""The embedded `local` CRM: a SQLite file that refuses what HubSpot refuses."""
