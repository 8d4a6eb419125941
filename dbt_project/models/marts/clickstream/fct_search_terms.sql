{{
    config(
        materialized='incremental',
        unique_key=['search_term', 'search_date'],
        on_schema_change='fail',
        **incremental_config()
    )
}}
-- One row per normalised search term per day: how often it was searched, by how many
-- devices, how often it found nothing (params.result_count = 0) and how often a search
-- result was clicked (select_item on the 'search_results' list) on the same device within
-- var('session_timeout_minutes') minutes afterwards. Incremental on search_date.
with

events as (

    select * from {{ ref('stg_raw__events') }}
    where {{ event_window_predicate('event_date', pad_days=1) }}

),

searches as (

    select
        event_id,
        client_id,
        lower(trim(search_term)) as search_term,
        result_count,
        event_at,
        event_date
    from events
    where event_name = 'search'
        and search_term is not null
        and trim(search_term) <> ''
        and {{ event_window_predicate('event_date') }}

),

result_clicks as (

    select client_id, event_at
    from events
    where event_name = 'select_item'
        and list_id = 'search_results'

),

searches_with_clicks as (

    select
        searches.event_id,
        max(case when result_clicks.client_id is not null then 1 else 0 end) as has_result_click
    from searches
    left join result_clicks
        on searches.client_id = result_clicks.client_id
        and result_clicks.event_at >= searches.event_at
        and result_clicks.event_at <= {{ dbt.dateadd('minute', var('session_timeout_minutes'), 'searches.event_at') }}
    group by searches.event_id

),

final as (

    select
        searches.search_term,
        searches.event_date as search_date,
        count(*) as searches,
        count(distinct searches.client_id) as searching_devices,
        sum(case when searches.result_count = 0 then 1 else 0 end) as zero_result_searches,
        cast(sum(case when searches.result_count = 0 then 1 else 0 end) as {{ type_double() }}) / count(*) as zero_result_rate,
        avg(searches.result_count) as average_result_count,
        sum(searches_with_clicks.has_result_click) as searches_with_result_click
    from searches
    inner join searches_with_clicks
        on searches.event_id = searches_with_clicks.event_id
    group by searches.search_term, searches.event_date

)

select * from final
