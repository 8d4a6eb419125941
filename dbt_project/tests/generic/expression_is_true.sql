{#
    Model-level test: every row satisfies a boolean SQL expression (arithmetic invariants,
    orderings). Fails with the rows where it is false. Use `where` in config to narrow.
    arguments: expression (SQL boolean over the model's columns).
#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}
