with

source as (

    select * from {{ source('raw', 'shop_coupon_redemptions') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as coupon_redemption_id,
        {{ normalize_uuid('coupon_id') }} as coupon_id,
        {{ normalize_uuid('user_id') }} as user_id,
        {{ normalize_uuid('order_id') }} as order_id,
        -- numerics
        cast(amount_minor as {{ dbt.type_bigint() }}) as amount_minor,
        -- timestamps
        {{ to_utc_timestamp('released_at') }} as released_at,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('modified_at') }} as modified_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
