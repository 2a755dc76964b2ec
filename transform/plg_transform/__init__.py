"""plg-transform: a Singer mapper that scores product events for a CRM.

The stages, in the order a run goes through them (module names say which is which):

1. read the input: `singer_input` (Singer lines in blocks), `batch_files` (BATCH files);
2. normalise it into store rows: `message_rows` (Segment messages, backend metrics),
   `rollup_rows` (daily roll-ups), `bad_input` (what cannot be read, counted);
3. keep it: `store_staging` (rows into the store), `store` (the DuckDB file);
4. score as of T (`snapshot`, in the order of `scoring`): `population`, `rollup_events`,
   `engagement`, `activity`, `rules`;
5. write the records: `output_fields`, `output_records`.

`mapper` runs them and logs its progress (`run_progress`); `settings` declares the
settings and `setting_checks` checks what their schema cannot say. `plg-transform
explain` (`explain_command`) runs the same computation on the store and lays out one
record's numbers (`explain`, `explain_text`).
"""
