{{
    config(
        materialized='incremental',
        unique_key=['search_term', 'search_date'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}
-- One row per normalised search term per day: how often it was searched, by how many
-- devices, how often it found nothing (params.result_count = 0) and how often a search
-- result was clicked in the same session afterwards.
with

events as (

    select * from {{ ref('int_events_sessionized') }}

),

searches as (

    select
        session_id,
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

    select session_id, event_at
    from events
    where event_name = 'select_item'
        and list_id = 'search_results'

),

searches_with_clicks as (

    select
        searches.*,
        exists (
            select 1
            from result_clicks
            where result_clicks.session_id = searches.session_id
                and result_clicks.event_at >= searches.event_at
        ) as has_result_click
    from searches

),

final as (

    select
        search_term,
        event_date as search_date,
        count(*) as searches,
        count(distinct client_id) as searching_devices,
        sum(case when result_count = 0 then 1 else 0 end) as zero_result_searches,
        sum(case when result_count = 0 then 1 else 0 end) * 1.0 / count(*) as zero_result_rate,
        avg(result_count) as average_result_count,
        sum(case when has_result_click then 1 else 0 end) as searches_with_result_click
    from searches_with_clicks
    group by search_term, event_date

)

select * from final
