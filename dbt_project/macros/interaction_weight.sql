{# An interaction's weight from its signals, with var('interaction_weights'): the one
   definition, for the model and for rows merged later (restitch_interactions). #}
{% macro interaction_weight(views, clicks, cart_adds, units_purchased, review_rating) -%}
    {%- set w = var('interaction_weights') -%}
    cast(
        {{ w['view_item'] }} * {{ views }}
        + {{ w['select_item'] }} * {{ clicks }}
        + {{ w['add_to_cart'] }} * {{ cart_adds }}
        + {{ w['purchase'] }} * {{ units_purchased }}
        + {{ w['write_review'] }} * coalesce({{ review_rating }}, 0) / 5.0
        as {{ type_double() }}
    )
{%- endmacro %}
