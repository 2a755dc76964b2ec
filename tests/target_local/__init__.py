"""Tests of target-plg-crm against the embedded local CRM."""
