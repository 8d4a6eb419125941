{{ config(materialized='ephemeral') }}
-- Clickstream events assigned to sessions: a device's (device_id, see
-- int_events_resolved_to_devices) session ends after
-- var('session_timeout_minutes') of inactivity. Reads the run window padded by a day on
-- each side, so sessions crossing midnight are whole; fct_sessions keeps the sessions that
-- start inside the window.
with

events as (

    select * from {{ ref('stg_raw__events') }}
    where {{ event_window_predicate('event_date', pad_days=1) }}

),

-- Sessions are found on narrow rows (event, device, time) and joined back to the events:
-- the two window passes below sort every row of the window, and sorting the wide event
-- rows cost several times more.
event_devices as (

    select
        events.event_id,
        coalesce(devices.device_id, events.client_id) as device_id,
        events.event_at
    from events
    left join {{ ref('int_events_resolved_to_devices') }} as devices
        on events.event_id = devices.event_id

),

gaps as (

    select
        *,
        lag(event_at) over (partition by device_id order by event_at, event_id) as previous_event_at
    from event_devices

),

flagged as (

    select
        *,
        case
            when previous_event_at is null then 1
            when {{ dbt.datediff('previous_event_at', 'event_at', 'second') }}
                > {{ var('session_timeout_minutes') }} * 60 then 1
            else 0
        end as is_session_start
    from gaps

),

session_starts as (

    select
        event_id,
        device_id,
        is_session_start,
        -- the latest session start up to this event (same partition and order as the lag)
        max(case when is_session_start = 1 then event_at end) over (
            partition by device_id order by event_at, event_id rows between unbounded preceding and current row
        ) as session_start_at
    from flagged

),

sessionized as (

    select
        events.*,
        session_starts.device_id,
        session_starts.session_start_at,
        session_starts.is_session_start
    from events
    inner join session_starts
        on events.event_id = session_starts.event_id

)

select
    {{ session_key('device_id', 'session_start_at') }} as session_id,
    event_id,
    device_id,
    client_id,
    user_id,
    tag_session_id,
    event_name,
    event_source,
    page_url,
    page_referrer,
    search_term,
    result_count,
    value_minor,
    currency,
    list_id,
    transaction_id,
    utm_source,
    utm_medium,
    utm_campaign,
    device_category,
    locale,
    item_count,
    event_at,
    event_date,
    session_start_at,
    cast(session_start_at as date) as session_date,
    cast(is_session_start as {{ dbt.type_boolean() }}) as is_session_start
from sessionized
