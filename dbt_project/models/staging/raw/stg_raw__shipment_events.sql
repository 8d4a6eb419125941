with

source as (

    select * from {{ source('raw', 'shop_shipment_events') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as shipment_event_id,
        {{ normalize_uuid('shipment_id') }} as shipment_id,
        -- attributes
        cast(status as {{ dbt.type_string() }}) as shipment_status,
        cast(description as {{ dbt.type_string() }}) as description,
        cast(location as {{ dbt.type_string() }}) as location,
        cast(provider_event_id as {{ dbt.type_string() }}) as provider_event_id,
        -- timestamps
        {{ to_utc_timestamp('occurred_at') }} as occurred_at,
        {{ to_utc_timestamp('received_at') }} as received_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
