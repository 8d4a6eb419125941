with

source as (

    select * from {{ source('raw', 'shop_cart_items') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as cart_item_id,
        {{ normalize_uuid('cart_id') }} as cart_id,
        {{ normalize_uuid('listing_id') }} as listing_id,
        -- numerics
        cast(quantity as {{ dbt.type_int() }}) as quantity,
        -- timestamps
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('modified_at') }} as modified_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
