{#- Segment input: incremental (new rows appended; the first stored copy of a messageId
    wins, as in the transform's store). -#}
{{ config(materialized='incremental' if var('plg_input') == 'segment' else 'table',
          incremental_strategy='append') }}
{% if var('plg_input') == 'store' %}
SELECT * FROM {{ source('plg_store', 'messages') }}
{% else %}
{{ plg_segment_messages() }}
{% endif %}
