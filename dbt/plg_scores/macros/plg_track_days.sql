{#- The first message seq not yet folded into the incremental plg_track_days: 0 on its
    first run, on --full-refresh, or when the table predates its folded_seq column. -#}
{% macro plg_track_days_since() -%}
  {%- set days = adapter.get_relation(database=this.database, schema=this.schema,
                                      identifier='plg_track_days') -%}
  {%- set columns = adapter.get_columns_in_relation(days) | map(attribute='name') | list
      if days is not none else [] -%}
  {%- if 'folded_seq' in columns and not flags.FULL_REFRESH -%}
    (SELECT coalesce(max(folded_seq) + 1, 0) FROM {{ days }})
  {%- else -%}
    0
  {%- endif -%}
{%- endmacro %}
