with

source as (

    select * from {{ source('raw', 'shop_order_items') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as order_item_id,
        {{ normalize_uuid('order_id') }} as order_id,
        {{ normalize_uuid('group_id') }} as fulfilment_group_id,
        {{ normalize_uuid('listing_id') }} as listing_id,
        {{ normalize_uuid('seller_id') }} as seller_id,
        {{ normalize_uuid('category_id') }} as category_id,
        -- attributes
        cast(title as {{ dbt.type_string() }}) as title,
        -- numerics
        cast(position as {{ dbt.type_int() }}) as position,
        cast(unit_price_minor as {{ dbt.type_bigint() }}) as unit_price_minor,
        cast(quantity as {{ dbt.type_int() }}) as quantity,
        cast(discount_minor as {{ dbt.type_bigint() }}) as discount_minor,
        cast(tax_minor as {{ dbt.type_bigint() }}) as tax_minor,
        cast(line_total_minor as {{ dbt.type_bigint() }}) as line_total_minor,
        -- timestamps
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('modified_at') }} as modified_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
