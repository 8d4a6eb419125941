with

source as (

    select * from {{ source('raw', 'shop_users') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as user_id,
        -- attributes
        case when erased_at is null then cast(email as {{ dbt.type_string() }}) end as email,
        case when erased_at is null then cast(display_name as {{ dbt.type_string() }}) end as display_name,
        cast(role as {{ dbt.type_string() }}) as role,
        cast(is_active as {{ dbt.type_boolean() }}) as is_active,
        cast(marketing_consent as {{ dbt.type_boolean() }}) as has_marketing_consent,
        cast(marketing_consent_source as {{ dbt.type_string() }}) as marketing_consent_source,
        -- timestamps
        {{ to_utc_timestamp('marketing_consent_at') }} as marketing_consent_at,
        {{ to_utc_timestamp('last_login_at') }} as last_login_at,
        {{ to_utc_timestamp('erased_at') }} as erased_at,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('modified_at') }} as modified_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
