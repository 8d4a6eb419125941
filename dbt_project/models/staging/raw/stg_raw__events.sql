{{
    config(
        materialized='incremental',
        unique_key='event_id',
        on_schema_change='fail',
        post_hook=["{{ scrub_erased_user_ids() }}"],
        **incremental_config()
    )
}}
{#- The one staging exception: the clickstream is event-sized, so it is an incremental table
    rebuilt for the event dates between var('min_date') and var('max_date'). -#}

{%- set window = event_window_predicate('event_date') if is_incremental() else '1 = 1' %}
{%- set page_fields = ['url', 'referrer', 'title'] %}
{%- set params_fields = [
    'transaction_id', 'question_id', 'search_term', 'result_count', 'value', 'currency',
    'list_id', 'item_list_id', 'list_name', 'item_list_name', 'rating', 'coupon', 'promotion_id',
    'ab_arm',
] %}
{%- set context_fields = ['source', 'locale', 'utm_source', 'utm_medium', 'utm_campaign', 'user_agent'] %}

with

-- client and server copies of one action share event_id (and can sit in different date
-- partitions). Only those few are ranked: keep the client copy (it carries page and utm
-- context), else the first received. Ranking every row would sort the whole, wide table.
duplicated as (

    select event_id
    from {{ source('raw', 'events') }}
    where {{ window }}
    group by event_id
    having count(*) > 1

),

kept_copies as (

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
        where {{ window }}
            and event_id in (select event_id from duplicated)
    ) as copies
    where copy_rank = 1

),

source as (

    select * from {{ source('raw', 'events') }}
    where {{ window }}
        and (
            event_id not in (select event_id from duplicated)
            or (event_id, event_date) in (select event_id, event_date from kept_copies)
        )

),

-- each JSON object is read once into a record (not once per extracted field)
parsed as (

    select
        *,
        {{ json_record('page', page_fields) }} as page_record,
        {{ json_record('params', params_fields) }} as params_record,
        {{ json_record('context', context_fields) }} as context_record
    from source

),

renamed as (

    select
        -- ids
        {{ normalize_uuid('event_id') }} as event_id,
        cast(client_id as {{ dbt.type_string() }}) as client_id,
        {{ normalize_uuid('user_id') }} as user_id,
        cast(session_id as {{ dbt.type_string() }}) as tag_session_id,
        {{ normalize_uuid(record_field('params_record', 'transaction_id')) }} as transaction_id,
        {{ normalize_uuid(record_field('params_record', 'question_id')) }} as question_id,
        -- event
        cast(event_name as {{ dbt.type_string() }}) as event_name,
        cast(schema_version as {{ dbt.type_int() }}) as schema_version,
        coalesce({{ record_field('context_record', 'source') }}, 'client') as event_source,
        -- page
        {{ record_field('page_record', 'url') }} as page_url,
        {{ record_field('page_record', 'referrer') }} as page_referrer,
        {{ record_field('page_record', 'title') }} as page_title,
        -- params
        {{ record_field('params_record', 'search_term') }} as search_term,
        {{ dbt.safe_cast(record_field('params_record', 'result_count'), dbt.type_int()) }} as result_count,
        {{ dbt.safe_cast(record_field('params_record', 'value'), type_double()) }} as event_value,
        {{ major_to_minor(dbt.safe_cast(record_field('params_record', 'value'), type_double())) }} as value_minor,
        upper({{ record_field('params_record', 'currency') }}) as currency,
        coalesce(
            {{ record_field('params_record', 'list_id') }},
            {{ record_field('params_record', 'item_list_id') }}
        ) as list_id,
        coalesce(
            {{ record_field('params_record', 'list_name') }},
            {{ record_field('params_record', 'item_list_name') }}
        ) as list_name,
        case
            when {{ record_field('params_record', 'ab_arm') }} in ('champion', 'challenger')
                then {{ record_field('params_record', 'ab_arm') }}
        end as ab_arm,
        {{ dbt.safe_cast(record_field('params_record', 'rating'), dbt.type_int()) }} as rating,
        {{ record_field('params_record', 'coupon') }} as coupon_code,
        {{ record_field('params_record', 'promotion_id') }} as promotion_id,
        -- context (the user agent itself is not kept: only its device bucket)
        {{ record_field('context_record', 'locale') }} as locale,
        {{ record_field('context_record', 'utm_source') }} as utm_source,
        {{ record_field('context_record', 'utm_medium') }} as utm_medium,
        {{ record_field('context_record', 'utm_campaign') }} as utm_campaign,
        case
            when {{ record_field('context_record', 'user_agent') }} is null then 'unknown'
            when lower({{ record_field('context_record', 'user_agent') }}) like '%ipad%'
                or lower({{ record_field('context_record', 'user_agent') }}) like '%tablet%' then 'tablet'
            when lower({{ record_field('context_record', 'user_agent') }}) like '%mobile%' then 'mobile'
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

    from parsed

)

select * from renamed
