"""Salesforce: Contacts, Accounts and AccountContactRelations through the REST API."""
