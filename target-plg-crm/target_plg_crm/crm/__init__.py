"""CRM clients behind one interface (`interface.CRMClient`): one package per CRM."""
