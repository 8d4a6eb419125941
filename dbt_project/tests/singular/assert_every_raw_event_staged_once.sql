-- Completeness: the distinct event_ids of raw.events in the run window (vars min_date,
-- max_date) are all in stg_raw__events, each exactly once (client and server copies
-- collapsed, nothing lost). A returned row shows the two counts that differ.
with

raw_events as (

    select count(distinct event_id) as events
    from {{ source('raw', 'events') }}
    where {{ event_window_predicate('event_date') }}

),

staged_events as (

    select count(*) as events, count(distinct event_id) as distinct_events
    from {{ ref('stg_raw__events') }}
    where {{ event_window_predicate('event_date') }}

)

select
    raw_events.events as raw_events,
    staged_events.events as staged_events,
    staged_events.distinct_events as staged_distinct_events
from raw_events
cross join staged_events
where raw_events.events <> staged_events.events
    or staged_events.events <> staged_events.distinct_events
