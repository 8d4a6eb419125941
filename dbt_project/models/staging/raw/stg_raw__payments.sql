with

source as (

    select * from {{ source('raw', 'shop_payments') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as payment_id,
        {{ normalize_uuid('order_id') }} as order_id,
        -- attributes
        cast(provider as {{ dbt.type_string() }}) as provider,
        cast(provider_payment_id as {{ dbt.type_string() }}) as provider_payment_id,
        cast(currency as {{ dbt.type_string() }}) as currency,
        cast(status as {{ dbt.type_string() }}) as payment_status,
        cast(method as {{ dbt.type_string() }}) as payment_method,
        cast(last_error_code as {{ dbt.type_string() }}) as last_error_code,
        cast(card_brand as {{ dbt.type_string() }}) as card_brand,
        -- numerics
        cast(amount_minor as {{ dbt.type_bigint() }}) as amount_minor,
        cast(refunded_minor as {{ dbt.type_bigint() }}) as refunded_minor,
        cast(failed_attempts as {{ dbt.type_int() }}) as failed_attempts,
        -- timestamps
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('modified_at') }} as modified_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
