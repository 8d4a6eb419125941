with

source as (

    select * from {{ source('raw', 'shop_reviews') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as review_id,
        {{ normalize_uuid('order_item_id') }} as order_item_id,
        {{ normalize_uuid('order_id') }} as order_id,
        {{ normalize_uuid('listing_id') }} as listing_id,
        {{ normalize_uuid('seller_id') }} as seller_id,
        {{ normalize_uuid('buyer_id') }} as buyer_id,
        -- numerics
        cast(rating as {{ dbt.type_int() }}) as rating,
        -- timestamps
        {{ to_utc_timestamp('created_at') }} as reviewed_at,
        {{ to_utc_timestamp('modified_at') }} as modified_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
