{#
    Column test: non-null values lie within [min_value, max_value] (inclusive); either bound
    may be omitted. Fails with the offending rows.
    arguments: min_value, max_value.
#}
{% test is_between(model, column_name, min_value=none, max_value=none) %}

select *
from {{ model }}
where {{ column_name }} is not null
    and (
        false
        {% if min_value is not none %} or {{ column_name }} < {{ min_value }} {% endif %}
        {% if max_value is not none %} or {{ column_name }} > {{ max_value }} {% endif %}
    )

{% endtest %}
