{{ config(materialized='table') }}
-- depends_on: {{ ref('plg_messages') }}
{% if var('plg_input') == 'store' %}
SELECT * FROM {{ source('plg_store', 'traits') }}
{% else %}
{{ plg_segment_traits() }}
{% endif %}
