with

source as (

    select * from {{ source('raw', 'shop_categories') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as category_id,
        {{ normalize_uuid('parent_id') }} as parent_category_id,
        -- attributes
        cast(slug as {{ dbt.type_string() }}) as category_slug,
        cast(name as {{ dbt.type_string() }}) as category_name,
        cast(path as {{ dbt.type_string() }}) as category_path,
        -- numerics
        cast(depth as {{ dbt.type_int() }}) as depth,
        -- timestamps
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('modified_at') }} as modified_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
