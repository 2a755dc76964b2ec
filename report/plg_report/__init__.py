"""plg-report: one self-contained HTML page of what the PLG CRM suite wrote."""
