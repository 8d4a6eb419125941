{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=["{{ scrub_erased_user_ids() }}"],
    )
}}
{#- The one staging exception: the clickstream is event-sized, so it is an incremental table
    rebuilt for the event dates between var('min_date') and var('max_date'). -#}

with

source as (

    select * from {{ source('raw', 'events') }}
    where
        {% if is_incremental() %}{{ event_window_predicate('event_date') }}{% else %}1 = 1{% endif %}
        -- client and server copies of one action share event_id (and can sit in different
        -- date partitions). Only those few are ranked: keep the client copy (it carries page
        -- and utm context), else the first received. Ranking every row would sort the
        -- whole, wide table.
        and (
            event_id not in (
                select event_id
                from {{ source('raw', 'events') }}
                where {% if is_incremental() %}{{ event_window_predicate('event_date') }}{% else %}1 = 1{% endif %}
                group by event_id
                having count(*) > 1
            )
            or (event_id, event_date) in (
                select event_id, event_date
                from (
                    select
                        event_id,
                        event_date,
                        row_number() over (
                            partition by event_id
                            order by
                                case when coalesce({{ json_extract_string('context', '$.source') }}, 'client') = 'client' then 0 else 1 end,
                                received_at,
                                _source_file
                        ) as copy_rank
                    from {{ source('raw', 'events') }}
                    where {% if is_incremental() %}{{ event_window_predicate('event_date') }}{% else %}1 = 1{% endif %}
                ) as copies
                where copy_rank = 1
            )
        )

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('event_id') }} as event_id,
        cast(client_id as {{ dbt.type_string() }}) as client_id,
        {{ normalize_uuid('user_id') }} as user_id,
        cast(session_id as {{ dbt.type_string() }}) as tag_session_id,
        {{ normalize_uuid(json_extract_string('params', '$.transaction_id')) }} as transaction_id,
        {{ normalize_uuid(json_extract_string('params', '$.question_id')) }} as question_id,
        -- event
        cast(event_name as {{ dbt.type_string() }}) as event_name,
        cast(schema_version as {{ dbt.type_int() }}) as schema_version,
        coalesce({{ json_extract_string('context', '$.source') }}, 'client') as event_source,
        -- page
        {{ json_extract_string('page', '$.url') }} as page_url,
        {{ json_extract_string('page', '$.referrer') }} as page_referrer,
        {{ json_extract_string('page', '$.title') }} as page_title,
        -- params
        {{ json_extract_string('params', '$.search_term') }} as search_term,
        {{ dbt.safe_cast(json_extract_string('params', '$.result_count'), dbt.type_int()) }} as result_count,
        {{ dbt.safe_cast(json_extract_string('params', '$.value'), "double precision") }} as event_value,
        {{ major_to_minor(dbt.safe_cast(json_extract_string('params', '$.value'), "double precision")) }} as value_minor,
        upper({{ json_extract_string('params', '$.currency') }}) as currency,
        coalesce(
            {{ json_extract_string('params', '$.list_id') }},
            {{ json_extract_string('params', '$.item_list_id') }}
        ) as list_id,
        coalesce(
            {{ json_extract_string('params', '$.list_name') }},
            {{ json_extract_string('params', '$.item_list_name') }}
        ) as list_name,
        {{ dbt.safe_cast(json_extract_string('params', '$.rating'), dbt.type_int()) }} as rating,
        {{ json_extract_string('params', '$.coupon') }} as coupon_code,
        {{ json_extract_string('params', '$.promotion_id') }} as promotion_id,
        -- context (the user agent itself is not kept: only its device bucket)
        {{ json_extract_string('context', '$.locale') }} as locale,
        {{ json_extract_string('context', '$.utm_source') }} as utm_source,
        {{ json_extract_string('context', '$.utm_medium') }} as utm_medium,
        {{ json_extract_string('context', '$.utm_campaign') }} as utm_campaign,
        case
            when {{ json_extract_string('context', '$.user_agent') }} is null then 'unknown'
            when lower({{ json_extract_string('context', '$.user_agent') }}) like '%ipad%'
                or lower({{ json_extract_string('context', '$.user_agent') }}) like '%tablet%' then 'tablet'
            when lower({{ json_extract_string('context', '$.user_agent') }}) like '%mobile%' then 'mobile'
            else 'desktop'
        end as device_category,
        -- items (unnested in stg_raw__event_items)
        items,
        coalesce(json_array_length(items), 0) as item_count,
        -- timestamps
        {{ to_utc_timestamp('event_time') }} as event_at,
        {{ to_utc_timestamp('received_at') }} as received_at,
        cast(event_date as date) as event_date,
        -- load metadata
        _source_file as source_file,
        {{ to_utc_timestamp('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
