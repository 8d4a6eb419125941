with

source as (

    select * from {{ source('raw', 'shop_listings') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as listing_id,
        {{ normalize_uuid('seller_id') }} as seller_id,
        {{ normalize_uuid('category_id') }} as category_id,
        -- attributes
        cast(title as {{ dbt.type_string() }}) as title,
        cast(currency as {{ dbt.type_string() }}) as currency,
        cast(condition as {{ dbt.type_string() }}) as item_condition,
        cast(status as {{ dbt.type_string() }}) as listing_status,
        -- numerics
        cast(price_minor as {{ dbt.type_bigint() }}) as price_minor,
        cast(stock as {{ dbt.type_int() }}) as stock,
        cast(rating_count as {{ dbt.type_int() }}) as rating_count,
        cast(rating_sum as {{ dbt.type_int() }}) as rating_sum,
        -- timestamps
        {{ to_utc_timestamp('published_at') }} as published_at,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('modified_at') }} as modified_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
