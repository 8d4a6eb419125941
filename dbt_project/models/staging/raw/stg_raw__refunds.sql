with

source as (

    select * from {{ source('raw', 'shop_refunds') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as refund_id,
        {{ normalize_uuid('payment_id') }} as payment_id,
        {{ normalize_uuid('order_id') }} as order_id,
        {{ normalize_uuid('requested_by_id') }} as requested_by_id,
        -- attributes
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(status as {{ dbt.type_string() }}) as refund_status,
        cast(provider_refund_id as {{ dbt.type_string() }}) as provider_refund_id,
        -- numerics
        cast(amount_minor as {{ dbt.type_bigint() }}) as amount_minor,
        -- timestamps
        {{ to_utc_timestamp('completed_at') }} as completed_at,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('modified_at') }} as modified_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
