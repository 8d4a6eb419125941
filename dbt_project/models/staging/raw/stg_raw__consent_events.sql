with

source as (

    select * from {{ source('raw', 'shop_consent_events') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as consent_event_id,
        {{ normalize_uuid('user_id') }} as user_id,
        -- attributes
        cast(purpose as {{ dbt.type_string() }}) as purpose,
        cast(granted as {{ dbt.type_boolean() }}) as is_granted,
        cast(source as {{ dbt.type_string() }}) as consent_source,
        -- timestamps
        {{ to_utc_timestamp('recorded_at') }} as recorded_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
