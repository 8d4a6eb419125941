with

source as (

    select * from {{ source('raw', 'shop_erasure_records') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as erasure_record_id,
        {{ normalize_uuid('user_id') }} as user_id,
        -- attributes
        cast(steps as {{ type_json() }}) as steps,
        -- timestamps
        {{ to_utc_timestamp('requested_at') }} as requested_at,
        {{ to_utc_timestamp('completed_at') }} as completed_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
