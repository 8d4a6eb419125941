with

source as (

    select * from {{ source('raw', 'shop_payment_status_history') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as payment_status_change_id,
        {{ normalize_uuid('payment_id') }} as payment_id,
        -- attributes
        cast(from_status as {{ dbt.type_string() }}) as from_status,
        cast(to_status as {{ dbt.type_string() }}) as to_status,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(provider_event_id as {{ dbt.type_string() }}) as provider_event_id,
        -- timestamps
        {{ to_utc_timestamp('changed_at') }} as changed_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
