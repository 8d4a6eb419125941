{# Predicate: date_column within the run window [min_date - pad_days, max_date + pad_days]. #}
{% macro event_window_predicate(date_column, pad_days=0) -%}
    {{ date_column }} between
        {{ dbt.dateadd('day', -pad_days, "cast('" ~ var('min_date') ~ "' as date)") }}
        and {{ dbt.dateadd('day', pad_days, "cast('" ~ var('max_date') ~ "' as date)") }}
{%- endmacro %}
