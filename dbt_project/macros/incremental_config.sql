{# Config of the event-sized incremental models that differs by engine, as config(**incremental_config()): DuckDB replaces the run's date window (delete+insert); Spark's Parquet tables take no deletes or updates, so there the model is rebuilt whole on every run (full_refresh) with a strategy Parquet supports. #}
{% macro incremental_config() -%}
    {{ return(adapter.dispatch('incremental_config', 'mercado')()) }}
{%- endmacro %}

{% macro default__incremental_config() -%}
    {{ return({'incremental_strategy': 'delete+insert'}) }}
{%- endmacro %}

{% macro spark__incremental_config() -%}
    {{ return({'incremental_strategy': 'insert_overwrite', 'full_refresh': true}) }}
{%- endmacro %}
