{# Predicate bounding a date column by the run window vars min_date and max_date (inclusive). #}
{% macro event_date_window(date_column) -%}
    {{ date_column }} between cast('{{ var("min_date") }}' as date) and cast('{{ var("max_date") }}' as date)
{%- endmacro %}
