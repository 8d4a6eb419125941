{#
    Predicate: date_column within the run window [min_date - pad_days, max_date + pad_days]
    (vars, inclusive). Under --full-refresh it is always true: a full refresh rebuilds all
    of history whatever window the caller passed.
#}
{% macro event_window_predicate(date_column, pad_days=0) -%}
    {%- if flags.FULL_REFRESH -%}
        1 = 1
    {%- else -%}
        {{ date_column }} between
            {{ dbt.dateadd('day', -pad_days, "cast('" ~ var('min_date') ~ "' as date)") }}
            and {{ dbt.dateadd('day', pad_days, "cast('" ~ var('max_date') ~ "' as date)") }}
    {%- endif -%}
{%- endmacro %}
