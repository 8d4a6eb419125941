with

source as (

    select * from {{ source('raw', 'shop_notifications') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as notification_id,
        {{ normalize_uuid('user_id') }} as user_id,
        -- attributes
        cast(kind as {{ dbt.type_string() }}) as notification_kind,
        -- timestamps
        {{ to_utc_timestamp('read_at') }} as read_at,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('modified_at') }} as modified_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
