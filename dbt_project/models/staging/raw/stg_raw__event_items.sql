{{
    config(
        materialized='incremental',
        unique_key=['event_id', 'item_position'],
        on_schema_change='fail',
        post_hook=["{{ scrub_erased_user_ids() }}"],
        **incremental_config()
    )
}}
{#- Items of clickstream events, one row per (event, item). Built from the deduplicated
    stg_raw__events (not from the source again) so both agree on which copy was kept. -#}
{%- set item_fields = {
    'item_id': 'string', 'item_name': 'string', 'item_category': 'string', 'price': 'float',
    'quantity': 'int', 'index': 'int', 'seller_id': 'string',
} %}

with

source as (

    select
        {{ json_array_unnest('items', item_fields) }},
        event_id,
        event_name,
        client_id,
        user_id,
        list_id,
        transaction_id,
        event_at,
        event_date
    from {{ ref('stg_raw__events') }}
    where item_count > 0
    {% if is_incremental() %}
        and {{ event_window_predicate('event_date') }}
    {% endif %}

),

renamed as (

    select
        -- ids
        event_id,
        cast(item_position as {{ dbt.type_int() }}) as item_position,
        {{ normalize_uuid(record_field('item', 'item_id')) }} as listing_id,
        {{ normalize_uuid(record_field('item', 'seller_id')) }} as seller_id,
        {{ record_field('item', 'item_category') }} as item_category,
        client_id,
        user_id,
        transaction_id,
        -- attributes
        event_name,
        list_id,
        {{ record_field('item', 'item_name') }} as item_name,
        -- numerics
        {{ record_field('item', 'index', 'int') }} as list_index,
        {{ major_to_minor(record_field('item', 'price', 'float')) }} as price_minor,
        coalesce({{ record_field('item', 'quantity', 'int') }}, 1) as quantity,
        -- timestamps
        event_at,
        event_date

    from source

)

select * from renamed
