{# Predicate: date_column within the run window [min_date - pad, max_date + pad]; always true under --full-refresh. #}
{% macro event_window_predicate(date_column, pad_days=0) -%}
    {%- if flags.FULL_REFRESH -%}
        1 = 1
    {%- else -%}
        {{ date_column }} between
            {{ dbt.dateadd('day', -pad_days, "cast('" ~ var('min_date') ~ "' as date)") }}
            and {{ dbt.dateadd('day', pad_days, "cast('" ~ var('max_date') ~ "' as date)") }}
    {%- endif -%}
{%- endmacro %}
