with

source as (

    select * from {{ source('raw', 'shop_listing_images') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as listing_image_id,
        {{ normalize_uuid('listing_id') }} as listing_id,
        -- attributes
        cast(storage_key as {{ dbt.type_string() }}) as storage_key,
        cast(content_type as {{ dbt.type_string() }}) as content_type,
        -- numerics
        cast(width as {{ dbt.type_int() }}) as width_px,
        cast(height as {{ dbt.type_int() }}) as height_px,
        cast(size_bytes as {{ dbt.type_int() }}) as size_bytes,
        cast(position as {{ dbt.type_int() }}) as position,
        -- timestamps
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('modified_at') }} as modified_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
