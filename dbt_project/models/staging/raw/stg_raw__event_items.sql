{{
    config(
        materialized='incremental',
        unique_key=['event_id', 'item_position'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=["{{ scrub_erased_user_ids() }}"],
    )
}}
{#- Items of clickstream events, one row per (event, item). Built from the deduplicated
    stg_raw__events (not from the source again) so both agree on which copy was kept. -#}

with

source as (

    select
        {{ json_array_indexes('items') }} as item_position,
        items,
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
        {{ normalize_uuid(json_extract_string(json_array_element('items', 'item_position'), '$.item_id')) }} as listing_id,
        {{ normalize_uuid(json_extract_string(json_array_element('items', 'item_position'), '$.seller_id')) }} as seller_id,
        {{ json_extract_string(json_array_element('items', 'item_position'), '$.item_category') }} as item_category,
        client_id,
        user_id,
        transaction_id,
        -- attributes
        event_name,
        list_id,
        {{ json_extract_string(json_array_element('items', 'item_position'), '$.item_name') }} as item_name,
        -- numerics
        {{ dbt.safe_cast(json_extract_string(json_array_element('items', 'item_position'), '$.index'), dbt.type_int()) }} as list_index,
        {{ major_to_minor(dbt.safe_cast(json_extract_string(json_array_element('items', 'item_position'), '$.price'), "double precision")) }} as price_minor,
        coalesce({{ dbt.safe_cast(json_extract_string(json_array_element('items', 'item_position'), '$.quantity'), dbt.type_int()) }}, 1) as quantity,
        -- timestamps
        event_at,
        event_date

    from source

)

select * from renamed
