{#
    Column test: non-null values are canonical UUID text (lowercase, dashed, 36 characters),
    the form staging gives every id so that shop and clickstream ids join.
#}
{% test is_uuid(model, column_name) %}

select *
from {{ model }}
where {{ column_name }} is not null
    and not (
        length({{ column_name }}) = 36
        and {{ column_name }} = lower({{ column_name }})
        and substring({{ column_name }}, 9, 1) = '-'
        and substring({{ column_name }}, 14, 1) = '-'
        and substring({{ column_name }}, 19, 1) = '-'
        and substring({{ column_name }}, 24, 1) = '-'
    )

{% endtest %}
