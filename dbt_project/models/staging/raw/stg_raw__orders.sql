with

source as (

    select * from {{ source('raw', 'shop_orders') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as order_id,
        {{ normalize_uuid('buyer_id') }} as buyer_id,
        {{ normalize_uuid('coupon_id') }} as coupon_id,
        -- attributes
        cast(status as {{ dbt.type_string() }}) as order_status,
        cast(currency as {{ dbt.type_string() }}) as currency,
        cast(coupon_code as {{ dbt.type_string() }}) as coupon_code,
        -- numerics
        cast(subtotal_minor as {{ dbt.type_bigint() }}) as subtotal_minor,
        cast(discount_minor as {{ dbt.type_bigint() }}) as discount_minor,
        cast(shipping_minor as {{ dbt.type_bigint() }}) as shipping_minor,
        cast(tax_minor as {{ dbt.type_bigint() }}) as tax_minor,
        cast(total_minor as {{ dbt.type_bigint() }}) as total_minor,
        cast(refunded_minor as {{ dbt.type_bigint() }}) as refunded_minor,
        -- timestamps
        {{ to_utc_timestamp('placed_at') }} as placed_at,
        {{ to_utc_timestamp('paid_at') }} as paid_at,
        {{ to_utc_timestamp('cancelled_at') }} as cancelled_at,
        {{ to_utc_timestamp('estimated_delivery_at') }} as estimated_delivery_at,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('modified_at') }} as modified_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
