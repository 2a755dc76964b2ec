"""The `scores_sql` source: contacts, companies and associations computed by dbt."""
