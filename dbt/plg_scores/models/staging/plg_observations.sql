{{ config(materialized='table') }}
{% if var('plg_input') == 'store' %}
SELECT * FROM {{ source('plg_store', 'observations') }}
{% else %}
{{ plg_segment_observations() }}
{% endif %}
