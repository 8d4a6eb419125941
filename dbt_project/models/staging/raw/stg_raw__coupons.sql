with

source as (

    select * from {{ source('raw', 'shop_coupons') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as coupon_id,
        {{ normalize_uuid('category_id') }} as category_id,
        {{ normalize_uuid('seller_id') }} as seller_id,
        -- attributes
        cast(code as {{ dbt.type_string() }}) as coupon_code,
        cast(kind as {{ dbt.type_string() }}) as coupon_kind,
        cast(currency as {{ dbt.type_string() }}) as currency,
        cast(active as {{ dbt.type_boolean() }}) as is_active,
        -- numerics
        cast(percent_off as {{ dbt.type_int() }}) as percent_off,
        cast(amount_off_minor as {{ dbt.type_bigint() }}) as amount_off_minor,
        cast(min_basket_minor as {{ dbt.type_bigint() }}) as min_basket_minor,
        cast(max_redemptions as {{ dbt.type_int() }}) as max_redemptions,
        cast(redemptions_count as {{ dbt.type_int() }}) as redemptions_count,
        -- timestamps
        {{ to_utc_timestamp('starts_at') }} as starts_at,
        {{ to_utc_timestamp('ends_at') }} as ends_at,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('modified_at') }} as modified_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
