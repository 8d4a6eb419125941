with

source as (

    select * from {{ source('raw', 'shop_questions') }}
    -- a row can be loaded more than once (incremental loads); keep its latest copy
    qualify row_number() over (partition by id order by _loaded_at desc) = 1

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('id') }} as question_id,
        {{ normalize_uuid('listing_id') }} as listing_id,
        {{ normalize_uuid('asker_id') }} as asker_id,
        {{ normalize_uuid('answered_by_id') }} as answered_by_id,
        -- timestamps
        {{ to_utc_timestamp('answered_at') }} as answered_at,
        {{ to_utc_timestamp('created_at') }} as asked_at,
        {{ to_utc_timestamp('modified_at') }} as modified_at,
        -- load metadata
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
