-- Server-side events (client_id 'srv-...', e.g. the purchase sent when the payment webhook
-- lands) carry a server pseudonym, not the shopper's device. Each one is credited to the
-- device that started the same transaction (begin_checkout, add_payment_info), else to
-- the device the account used most recently; browser events keep their own client_id.
with

events as (

    select
        event_id,
        client_id,
        user_id,
        transaction_id,
        event_at
    from {{ ref('stg_raw__events') }}

),

transaction_devices as (

    select transaction_id, client_id
    from (
        select
            transaction_id,
            client_id,
            row_number() over (partition by transaction_id order by event_at, event_id) as device_rank
        from events
        where transaction_id is not null
            and client_id not like 'srv-%'
    ) as ranked
    where device_rank = 1

),

user_devices as (

    select user_id, client_id
    from (
        select
            user_id,
            client_id,
            row_number() over (partition by user_id order by event_at desc, event_id desc) as device_rank
        from events
        where user_id is not null
            and client_id not like 'srv-%'
    ) as ranked
    where device_rank = 1

)

select
    events.event_id,
    events.client_id,
    case
        when events.client_id not like 'srv-%' then events.client_id
        else coalesce(transaction_devices.client_id, user_devices.client_id, events.client_id)
    end as device_id
from events
left join transaction_devices
    on events.transaction_id = transaction_devices.transaction_id
left join user_devices
    on events.user_id = user_devices.user_id
