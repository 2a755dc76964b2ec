{#-
  Segment/RudderStack warehouse tables (tracks, pages, screens, identifies, groups,
  aliases) staged into the shape of plg-transform's store, read as the tap's warehouse
  source reads them (tap-product-events/tap_product_events/sources/warehouse): `id` is the
  messageId, `event_text` the event's name where present, a track's account from the
  configured account columns (macros/plg_settings.sql), every other column of an identify
  or group a trait keyed by its column name (the tap's `key_case: columns`), null columns
  no trait. The first loaded copy of a messageId wins (by uuid_ts, then loaded_at).
  Tables missing from the schema are read as empty.
-#}



{% macro plg_segment_relation(table) %}
  {%- set schema = var('plg_input_schema') or target.schema -%}
  {{ return(adapter.get_relation(database=target.database, schema=schema, identifier=table)) }}
{% endmacro %}

{% macro plg_segment_column_names(relation) %}
  {%- set names = [] -%}
  {%- if relation is not none and execute -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
      {%- do names.append(column.name | lower) -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(names) }}
{% endmacro %}

{#- The load order column of a table: uuid_ts, loaded_at, else received_at. -#}
{% macro plg_segment_loaded(names) -%}
  {%- if 'uuid_ts' in names -%}uuid_ts{%- elif 'loaded_at' in names -%}loaded_at{%- else -%}received_at{%- endif -%}
{%- endmacro %}

{% macro plg_segment_col(names, column) -%}
  {%- if column in names -%}"{{ column }}"{%- else -%}NULL{%- endif -%}
{%- endmacro %}

{% macro plg_segment_id(names, column) -%}
  {%- if column in names -%}nullif(CAST("{{ column }}" AS VARCHAR), ''){%- else -%}CAST(NULL AS VARCHAR){%- endif -%}
{%- endmacro %}

{#- One message type's rows: kind, ids, account, event, time and load order. -#}
{% macro plg_segment_rows(table, kind) %}
  {%- set relation = plg_segment_relation(table) -%}
  {%- set names = plg_segment_column_names(relation) -%}
  {%- if relation is none -%}
    SELECT CAST(NULL AS VARCHAR) AS message_id, CAST(NULL AS VARCHAR) AS kind,
           CAST(NULL AS VARCHAR) AS user_id, CAST(NULL AS VARCHAR) AS anonymous_id,
           CAST(NULL AS VARCHAR) AS account_id, CAST(NULL AS VARCHAR) AS event,
           CAST(NULL AS TIMESTAMP) AS event_ts, CAST(NULL AS TIMESTAMP) AS received,
           CAST(NULL AS TIMESTAMP) AS loaded, CAST(NULL AS VARCHAR) AS source_table WHERE false
  {%- else -%}
    {%- set accounts = [] -%}
    {%- for column in plg_account_columns() if column in names -%}
      {%- do accounts.append(plg_segment_id(names, column)) -%}
    {%- endfor -%}
    SELECT {{ plg_segment_id(names, 'id') }} AS message_id, '{{ kind }}' AS kind,
      {% if kind == 'alias' -%}
        {{ plg_segment_id(names, 'user_id') }} AS user_id,
        {{ plg_segment_id(names, 'previous_id') }} AS anonymous_id,
      {%- else -%}
        {{ plg_segment_id(names, 'user_id') }} AS user_id,
        {{ plg_segment_id(names, 'anonymous_id') }} AS anonymous_id,
      {%- endif %}
      {% if kind == 'group' -%}
        {{ plg_segment_id(names, 'group_id') }}
      {%- elif kind == 'track' and accounts -%}
        coalesce({{ accounts | join(', ') }})
      {%- else -%}CAST(NULL AS VARCHAR){%- endif %} AS account_id,
      {% if table == 'pages' -%}'Page Viewed'
      {%- elif table == 'screens' -%}'Screen Viewed'
      {%- elif kind == 'track' -%}
        nullif(coalesce({{ plg_segment_col(names, 'event_text') }}, {{ plg_segment_col(names, 'event') }}), '')
      {%- else -%}CAST(NULL AS VARCHAR){%- endif %} AS event,
      CAST(coalesce({{ plg_segment_col(names, 'timestamp') }}, {{ plg_segment_col(names, 'original_timestamp') }},
               {{ plg_segment_col(names, 'received_at') }}) AS TIMESTAMPTZ) AS event_ts,
      CAST({{ plg_segment_col(names, 'received_at') }} AS TIMESTAMPTZ) AS received,
      CAST({{ plg_segment_loaded(names) }} AS TIMESTAMPTZ) AS loaded,
      '{{ table }}' AS source_table
    FROM {{ relation }}
  {%- endif -%}
{% endmacro %}

{% macro plg_segment_tables() %}
  {{ return([('tracks', 'track'), ('pages', 'track'), ('screens', 'track'),
             ('identifies', 'identify'), ('groups', 'group'), ('aliases', 'alias')]) }}
{% endmacro %}

{#- Every message once (first loaded copy), with its plausible time, as the store has it. -#}
{% macro plg_segment_messages() %}
WITH rows AS (
  {% for table, kind in plg_segment_tables() %}
  {{ plg_segment_rows(table, kind) }}
  {% if not loop.last %}UNION ALL{% endif %}
  {% endfor %}
), timed AS (
  SELECT *,
    CASE WHEN event_ts BETWEEN {{ plg_earliest_event() }} AND {{ plg_latest_event() }} THEN event_ts
         WHEN received BETWEEN {{ plg_earliest_event() }} AND {{ plg_latest_event() }} THEN received
    END AS plausible_ts
  FROM rows
  WHERE message_id IS NOT NULL
), kept AS (
  {#- A copy the tap would report as bad input is never stored: a later copy may be. -#}
  SELECT * FROM timed
  WHERE plausible_ts IS NOT NULL
    AND CASE kind WHEN 'alias' THEN user_id IS NOT NULL AND anonymous_id IS NOT NULL
                  WHEN 'group' THEN account_id IS NOT NULL AND coalesce(user_id, anonymous_id) IS NOT NULL
                  WHEN 'track' THEN event IS NOT NULL AND coalesce(user_id, anonymous_id) IS NOT NULL
                  ELSE coalesce(user_id, anonymous_id) IS NOT NULL END
  {% if is_incremental() %}
    {#- Incremental: rows loaded since the last run, of messageIds not stored yet. -#}
    AND loaded >= (SELECT max(loaded) FROM {{ this }})
    AND message_id NOT IN (SELECT message_id FROM {{ this }})
  {% endif %}
), firsts AS (
  SELECT * FROM kept
  QUALIFY row_number() OVER (PARTITION BY message_id ORDER BY loaded, source_table) = 1
)
SELECT CAST(row_number() OVER (ORDER BY loaded, source_table, message_id)
         {% if is_incremental() %} + (SELECT coalesce(max(seq), 0) FROM {{ this }}){% endif %}
       AS BIGINT) AS seq,
       message_id, kind, user_id, anonymous_id, account_id, event,
       CAST(timezone('UTC', plausible_ts) AS TIMESTAMP) AS ts, source_table, loaded
FROM firsts
{% endmacro %}

{#- A trait column's value as the JSON value the tap rebuilds (instants as ISO 8601 Z). -#}
{% macro plg_segment_json(column, data_type) -%}
  {%- if 'TIMESTAMP' in (data_type | upper) -%}
    {%- set utc = "timezone('UTC', CAST(" ~ column ~ " AS TIMESTAMPTZ))" -%}
  to_json(CASE WHEN microsecond({{ utc }}) % 1000000 = 0 THEN strftime({{ utc }}, '%Y-%m-%dT%H:%M:%SZ')
               ELSE strftime({{ utc }}, '%Y-%m-%dT%H:%M:%S.%fZ') END)
  {%- else -%}
  to_json({{ column }})
  {%- endif -%}
{%- endmacro %}

{% macro plg_segment_column_types(relation) %}
  {%- set types = {} -%}
  {%- if relation is not none and execute -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
      {%- do types.update({column.name | lower: column.dtype}) -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(types) }}
{% endmacro %}

{#- The traits of identifies and groups, one row per non-null trait column. -#}
{% macro plg_segment_traits() %}
  {%- set parts = [] -%}
  {%- for table in ['identifies', 'groups'] -%}
    {%- set relation = plg_segment_relation(table) -%}
    {%- set types = plg_segment_column_types(relation) -%}
    {%- for name in plg_segment_column_names(relation) -%}
      {%- set kind = 'identify' if table == 'identifies' else 'group' -%}
      {%- set newer = " AND m.seq > (SELECT coalesce(max(seq), 0) FROM " ~ this ~ ")" if is_incremental() else "" -%}
      {%- if (name == 'name' or name not in plg_standard_columns()) and not name.startswith('context_')
            or name == 'type' -%}
        {#- A `type` column holding the message type is bookkeeping, any other value a trait. -#}
        {%- set not_type = " AND CAST(t.\"type\" AS VARCHAR) <> '" ~ kind ~ "'" if name == 'type' else "" -%}
        {%- do parts.append("SELECT m.seq, '" ~ name ~ "' AS key, " ~ plg_segment_json('t."' ~ name ~ '"', types[name])
            ~ " AS value FROM " ~ relation ~ " t JOIN " ~ ref('plg_messages')
            ~ " m ON m.message_id = CAST(t.id AS VARCHAR) AND m.source_table = '" ~ table
            ~ "' AND m.loaded = CAST(t." ~ plg_segment_loaded(plg_segment_column_names(relation))
            ~ " AS TIMESTAMPTZ) WHERE t.\"" ~ name ~ "\" IS NOT NULL" ~ not_type ~ newer) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endfor %}
WITH t AS (
  {% if parts %}{{ parts | join('\nUNION ALL\n') }}
  {% else %}SELECT CAST(NULL AS BIGINT) AS seq, CAST(NULL AS VARCHAR) AS key, CAST(NULL AS JSON) AS value WHERE false
  {% endif %}
), parsed AS (
  SELECT seq, key, CAST(value AS JSON) AS value,
         CASE WHEN json_type(CAST(value AS JSON)) = 'VARCHAR' THEN value->>'$' END AS str
  FROM t
)
SELECT seq, key, value,
  CASE WHEN key = 'email' THEN
         CASE WHEN regexp_full_match(lower(trim(str)), '[^@\s]+@[^@\s]+\.[^@\s]+') THEN lower(trim(str)) END
       WHEN key = 'domain' THEN nullif(regexp_replace(lower(trim(str)), '^www\.', ''), '')
       WHEN key = 'website' THEN nullif(regexp_replace(lower(regexp_extract(trim(str),
            '^(?:[A-Za-z][A-Za-z0-9+.\-]*:)?(?://)?(?:[^@/?#]*@)?([^:/?#]*)', 1)), '^www\.', ''), '')
  END AS text,
  CASE WHEN key = 'email' THEN
         CASE WHEN json_type(value) = 'NULL' THEN NULL
              ELSE coalesce(regexp_full_match(lower(trim(str)), '[^@\s]+@[^@\s]+\.[^@\s]+'), false) END
  END AS valid,
  CASE WHEN key IN ('createdAt', 'created_at') THEN
         CASE WHEN TRY_CAST(str AS TIMESTAMPTZ) >= {{ plg_earliest_event() }}
              THEN CAST(timezone('UTC', TRY_CAST(str AS TIMESTAMPTZ)) AS TIMESTAMP) END
  END AS instant
FROM parsed
{% endmacro %}

{% macro plg_standard_columns() %}
  {{ return(['id', 'user_id', 'anonymous_id', 'timestamp', 'original_timestamp', 'sent_at',
             'received_at', 'uuid', 'uuid_ts', 'loaded_at', 'event', 'event_text', 'group_id',
             'previous_id', 'name', 'type', 'context', 'properties', 'traits']) }}
{% endmacro %}

{#- Backend metrics: the table `plg_metrics` of the input schema if there is one. -#}
{% macro plg_segment_observations() %}
  {%- set relation = plg_segment_relation('plg_metrics') -%}
  {%- if relation is none -%}
SELECT CAST(NULL AS BIGINT) AS seq, CAST(NULL AS VARCHAR) AS entity, CAST(NULL AS VARCHAR) AS user_id,
       CAST(NULL AS VARCHAR) AS account_id, CAST(NULL AS VARCHAR) AS metric, CAST(NULL AS JSON) AS value,
       CAST(NULL AS TIMESTAMP) AS observed_at WHERE false
  {%- else -%}
SELECT CAST(row_number() OVER () AS BIGINT) AS seq, entity,
       CASE WHEN entity IN ('user', 'membership') THEN nullif(CAST(user_id AS VARCHAR), '') END AS user_id,
       CASE WHEN entity IN ('account', 'membership') THEN nullif(CAST(account_id AS VARCHAR), '') END AS account_id,
       metric, to_json(value) AS value,
       CAST(timezone('UTC', CAST(observed_at AS TIMESTAMPTZ)) AS TIMESTAMP) AS observed_at
FROM {{ relation }}
  {%- endif -%}
{% endmacro %}

{#- No roll-ups: the warehouse's raw events are all there. -#}
{% macro plg_segment_rollups() %}
SELECT CAST(NULL AS BIGINT) AS seq, CAST(NULL AS VARCHAR) AS user_id, CAST(NULL AS VARCHAR) AS anonymous_id,
       CAST(NULL AS VARCHAR) AS account_id, CAST(NULL AS VARCHAR) AS event, CAST(NULL AS DATE) AS day,
       CAST(NULL AS BIGINT) AS n, CAST(NULL AS TIMESTAMP) AS first_at, CAST(NULL AS TIMESTAMP) AS last_at,
       CAST(NULL AS TIMESTAMP[]) AS first_ats, CAST(NULL AS VARCHAR[]) AS first_ids
WHERE false
{% endmacro %}
