with

source as (

    select * from {{ source('raw', 'shop_fulfilment_groups') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as fulfilment_group_id,
        {{ normalize_uuid('order_id') }} as order_id,
        {{ normalize_uuid('seller_id') }} as seller_id,
        -- attributes
        cast(status as {{ dbt.type_string() }}) as fulfilment_status,
        -- numerics
        cast(subtotal_minor as {{ dbt.type_bigint() }}) as subtotal_minor,
        cast(discount_minor as {{ dbt.type_bigint() }}) as discount_minor,
        cast(shipping_minor as {{ dbt.type_bigint() }}) as shipping_minor,
        cast(tax_minor as {{ dbt.type_bigint() }}) as tax_minor,
        cast(total_minor as {{ dbt.type_bigint() }}) as total_minor,
        -- timestamps
        {{ to_utc_timestamp('shipped_at') }} as shipped_at,
        {{ to_utc_timestamp('delivered_at') }} as delivered_at,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('modified_at') }} as modified_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
