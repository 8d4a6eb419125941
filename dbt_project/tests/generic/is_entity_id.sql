{#
    Column test: non-null values are entity ids as the event contract defines them: a shop
    id (canonical UUID: lowercase, dashed) or an imported dataset's id under its prefix
    (`diginetica:123`). The rule is var('entity_id_pattern'), the same regular expression as
    the collector's `shop_api.tracking.events.ENTITY_ID_PATTERN` (a pytest checks they are
    equal), so an event the collector accepted never fails here. Use it on ids that come
    from events; ids of shop tables keep `is_uuid`.
#}
{% test is_entity_id(model, column_name) %}

select *
from {{ model }}
where {{ column_name }} is not null
    and not {{ regexp_matches(column_name, var('entity_id_pattern')) }}

{% endtest %}
