with

source as (

    select * from {{ source('raw', 'shop_shipments') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as shipment_id,
        {{ normalize_uuid('order_id') }} as order_id,
        {{ normalize_uuid('group_id') }} as fulfilment_group_id,
        -- attributes
        cast(carrier as {{ dbt.type_string() }}) as carrier,
        cast(tracking_number as {{ dbt.type_string() }}) as tracking_number,
        cast(status as {{ dbt.type_string() }}) as shipment_status,
        -- timestamps
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('modified_at') }} as modified_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
