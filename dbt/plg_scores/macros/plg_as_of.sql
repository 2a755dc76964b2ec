{#- T, the instant the scores are computed as of: var `as_of` (ISO 8601), else the run's start. -#}
{% macro plg_as_of() %}
  {%- set given = var('as_of', none) -%}
  {%- if given -%}
    {%- set moment = modules.datetime.datetime.fromisoformat(given | replace('Z', '+00:00')) -%}
  {%- else -%}
    {%- set moment = run_started_at -%}
  {%- endif -%}
  {%- if moment.tzinfo is none -%}
    {%- set moment = moment.replace(tzinfo=modules.pytz.utc) -%}
  {%- endif -%}
  {{ return(moment.astimezone(modules.pytz.utc)) }}
{% endmacro %}

{#- T in epoch microseconds, exactly (no floating point). -#}
{% macro plg_as_of_us() %}
  {%- set d = plg_as_of() - modules.datetime.datetime(1970, 1, 1, tzinfo=modules.pytz.utc) -%}
  {{ return(d.days * 86400000000 + d.seconds * 1000000 + d.microseconds) }}
{% endmacro %}

{#- The UTC date `days` days before T's, as a DATE literal. -#}
{% macro plg_as_of_day_minus(days) -%}
DATE '{{ (plg_as_of().date() - modules.datetime.timedelta(days=days)).isoformat() }}'
{%- endmacro %}
