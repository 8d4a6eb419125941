{{
    config(
        materialized='incremental',
        unique_key='session_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=["{{ scrub_erased_user_ids() }}"],
    )
}}
-- One row per session: a device's run of events with no gap longer than
-- var('session_timeout_minutes'). Attribution is first-touch within the session: the first
-- event carrying utm parameters; sessions without any are 'direct'. Incremental on the
-- session start date.
with

events as (

    select * from {{ ref('int_events_sessionized') }}

),

sessions as (

    select
        session_id,
        device_id as client_id,
        min(session_start_at) as session_start_at,
        max(event_at) as session_end_at,
        min(session_date) as session_date,
        max(user_id) as user_id,
        min(tag_session_id) as tag_session_id,
        count(*) as event_count,
        sum(case when event_name = 'page_view' then 1 else 0 end) as page_views,
        sum(case when event_name = 'view_item' then 1 else 0 end) as item_views,
        sum(case when event_name = 'search' then 1 else 0 end) as searches,
        sum(case when event_name = 'add_to_cart' then 1 else 0 end) as add_to_carts,
        sum(case when event_name = 'purchase' then 1 else 0 end) as purchases,
        sum(case when event_name = 'purchase' then coalesce(value_minor, 0) else 0 end) as purchase_value_minor,
        min(case when event_name = 'view_item' then event_at end) as first_view_item_at,
        min(case when event_name = 'add_to_cart' then event_at end) as first_add_to_cart_at,
        min(case when event_name = 'begin_checkout' then event_at end) as first_begin_checkout_at,
        min(case when event_name = 'purchase' then event_at end) as first_purchase_at
    from events
    group by session_id, device_id

),

first_touch as (

    select
        session_id,
        utm_source,
        utm_medium,
        utm_campaign,
        row_number() over (partition by session_id order by event_at, event_id) as touch_number
    from events
    where utm_source is not null or utm_medium is not null or utm_campaign is not null

),

landing as (

    select
        session_id,
        page_url as landing_page_url,
        page_referrer as landing_referrer,
        device_category,
        locale,
        row_number() over (
            partition by session_id
            order by case when event_source = 'client' then 0 else 1 end, event_at, event_id
        ) as event_number
    from events

),

final as (

    select
        sessions.session_id,
        sessions.client_id,
        sessions.user_id,
        sessions.tag_session_id,
        sessions.session_date,
        sessions.session_start_at,
        sessions.session_end_at,
        {{ dbt.datediff('sessions.session_start_at', 'sessions.session_end_at', 'second') }} as duration_seconds,
        sessions.event_count,
        sessions.page_views,
        sessions.item_views,
        sessions.searches,
        sessions.add_to_carts,
        sessions.purchases,
        sessions.purchase_value_minor,
        sessions.purchases > 0 as is_converted,
        sessions.event_count = 1 as is_bounce,
        sessions.first_view_item_at,
        sessions.first_add_to_cart_at,
        sessions.first_begin_checkout_at,
        sessions.first_purchase_at,
        coalesce(first_touch.utm_source, '(direct)') as utm_source,
        coalesce(first_touch.utm_medium, '(none)') as utm_medium,
        coalesce(first_touch.utm_campaign, '(none)') as utm_campaign,
        case
            when first_touch.session_id is null then 'direct'
            when lower(first_touch.utm_medium) in ('cpc', 'ppc', 'paid', 'paidsearch', 'paid_search') then 'paid_search'
            when lower(first_touch.utm_medium) = 'organic' then 'organic_search'
            when lower(first_touch.utm_medium) in ('email', 'e-mail') then 'email'
            when lower(first_touch.utm_medium) in ('social', 'paid_social', 'social_paid') then 'social'
            when lower(first_touch.utm_medium) in ('display', 'banner', 'cpm') then 'display'
            when lower(first_touch.utm_medium) = 'referral' then 'referral'
            else 'other'
        end as channel,
        landing.landing_page_url,
        landing.landing_referrer,
        landing.device_category,
        landing.locale
    from sessions
    left join first_touch
        on sessions.session_id = first_touch.session_id
        and first_touch.touch_number = 1
    left join landing
        on sessions.session_id = landing.session_id
        and landing.event_number = 1
    where {{ event_window_predicate('sessions.session_date') }}

)

select * from final
