{#
    Model-level test: the given columns together identify a row (composite primary key).
    Fails with each duplicated key and how many rows share it.
    arguments: combination_of_columns (list of column names).
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(', ') }},
    count(*) as duplicate_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
