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
        -- identifiers hashed by the load (audiences.identifiers, the one normaliser)
        case when erased_at is null then cast(email_sha256 as {{ dbt.type_string() }}) end as email_sha256,
        case when erased_at is null then cast(phone_sha256 as {{ dbt.type_string() }}) end as phone_sha256,
        cast(role as {{ dbt.type_string() }}) as role,
        cast(is_active as {{ dbt.type_boolean() }}) as is_active,
        -- consent per ad purpose
        cast(ad_user_data_consent as {{ dbt.type_boolean() }}) as has_ad_user_data_consent,
        cast(ad_user_data_consent_source as {{ dbt.type_string() }}) as ad_user_data_consent_source,
        cast(ad_personalization_consent as {{ dbt.type_boolean() }}) as has_ad_personalization_consent,
        cast(ad_personalization_consent_source as {{ dbt.type_string() }}) as ad_personalization_consent_source,
        -- timestamps
        {{ to_utc_timestamp('ad_user_data_consent_at') }} as ad_user_data_consent_at,
        {{ to_utc_timestamp('ad_personalization_consent_at') }} as ad_personalization_consent_at,
        {{ to_utc_timestamp('last_login_at') }} as last_login_at,
        {{ to_utc_timestamp('erased_at') }} as erased_at,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('modified_at') }} as modified_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
