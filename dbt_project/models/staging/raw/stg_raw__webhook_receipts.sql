with

source as (

    select * from {{ source('raw', 'shop_webhook_receipts') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as webhook_receipt_id,
        -- attributes
        cast(provider as {{ dbt.type_string() }}) as provider,
        cast(event_id as {{ dbt.type_string() }}) as provider_event_id,
        cast(event_type as {{ dbt.type_string() }}) as event_type,
        -- timestamps
        {{ to_utc_timestamp('received_at') }} as received_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
