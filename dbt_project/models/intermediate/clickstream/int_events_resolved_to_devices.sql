{{ config(materialized='ephemeral') }}
-- One row per server-side event (client_id 'srv-...', e.g. the purchase sent when the
-- payment webhook lands): these carry a server pseudonym, not the shopper's device. Each is credited to the
-- browser device that started the same transaction (begin_checkout, add_payment_info),
-- else to the device the account used last before it (browser events are not listed: their
-- device is their own client_id). Only devices seen within one day before the event count, so a run over a
-- window (padded by a day) resolves exactly as a full rebuild does.
with

events as (

    select
        event_id,
        client_id,
        user_id,
        transaction_id,
        event_at,
        client_id not like 'srv-%' as is_browser
    from {{ ref('stg_raw__events') }}
    where {{ event_window_predicate('event_date', pad_days=1) }}

),

transaction_devices as (

    select
        transaction_id,
        client_id,
        event_at,
        row_number() over (partition by transaction_id order by event_at, event_id) as device_rank
    from events
    where transaction_id is not null
        and is_browser

),

user_events as (

    select
        event_id,
        user_id,
        client_id,
        event_at,
        is_browser,
        sum(case when is_browser then 1 else 0 end) over (
            partition by user_id order by event_at, event_id rows between unbounded preceding and current row
        ) as browser_run
    from events
    where user_id is not null

),

user_last_devices as (

    select
        event_id,
        first_value(case when is_browser then client_id end) over (
            partition by user_id, browser_run order by event_at, event_id
        ) as last_device_id,
        first_value(case when is_browser then event_at end) over (
            partition by user_id, browser_run order by event_at, event_id
        ) as last_device_at
    from user_events

),

resolved as (

    select
        events.event_id,
        events.client_id,
        case
            when transaction_devices.client_id is not null then transaction_devices.client_id
            when user_last_devices.last_device_at
                >= {{ dbt.dateadd('day', -1, 'events.event_at') }} then user_last_devices.last_device_id
            else events.client_id
        end as device_id
    from events
    left join transaction_devices
        on events.transaction_id = transaction_devices.transaction_id
        and transaction_devices.device_rank = 1
        and transaction_devices.event_at between {{ dbt.dateadd('day', -1, 'events.event_at') }} and events.event_at
    left join user_last_devices
        on events.event_id = user_last_devices.event_id
    where not events.is_browser

)

select * from resolved
