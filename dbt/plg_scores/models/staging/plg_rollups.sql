{{ config(materialized='table') }}
{% if var('plg_input') == 'store' %}
SELECT * FROM {{ source('plg_store', 'rollups') }}
{% else %}
{{ plg_segment_rollups() }}
{% endif %}
