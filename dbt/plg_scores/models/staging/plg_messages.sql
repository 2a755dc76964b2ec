{{ config(materialized='table') }}
{% if var('plg_input') == 'store' %}
SELECT * FROM {{ source('plg_store', 'messages') }}
{% else %}
{{ plg_segment_messages() }}
{% endif %}
