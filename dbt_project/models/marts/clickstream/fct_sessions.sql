{{
    config(
        materialized='incremental',
        unique_key='session_id',
        on_schema_change='fail',
        post_hook=["{{ scrub_erased_sessions() }}"],
        **incremental_config()
    )
}}
-- One row per session: a device's run of events with no gap longer than
-- var('session_timeout_minutes'). Attribution is first-touch within the session: the first
-- event carrying utm parameters; sessions without any are 'direct'. Incremental on the
-- session start date.
{%- set has_utm = 'utm_source is not null or utm_medium is not null or utm_campaign is not null' %}
{#- first touch: the first event with any utm; landing: the first client event, else the first -#}
{%- set touch_order = ['case when ' ~ has_utm ~ ' then 0 else 1 end', 'event_at', 'event_id'] %}
{%- set landing_order = ["case when event_source = 'client' then 0 else 1 end", 'event_at', 'event_id'] %}
with

events as (

    select * from {{ ref('int_events_sessionized') }}

),

-- One pass over the events: counts, and the first touch's and the landing event's columns
-- as first_by aggregates (two row_number() windows and joins would sort every event twice).
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
        min(case when event_name = 'purchase' then event_at end) as first_purchase_at,
        -- without any utm event, the first event has none either: these are null
        max(case when {{ has_utm }} then 1 else 0 end) as has_utm_touch,
        {{ first_by('utm_source', touch_order) }} as touch_utm_source,
        {{ first_by('utm_medium', touch_order) }} as touch_utm_medium,
        {{ first_by('utm_campaign', touch_order) }} as touch_utm_campaign,
        {{ first_by('page_url', landing_order) }} as landing_page_url,
        {{ first_by('page_referrer', landing_order) }} as landing_referrer,
        {{ first_by('device_category', landing_order) }} as device_category,
        {{ first_by('locale', landing_order) }} as locale
    from events
    group by session_id, device_id

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
        coalesce(sessions.touch_utm_source, '(direct)') as utm_source,
        coalesce(sessions.touch_utm_medium, '(none)') as utm_medium,
        coalesce(sessions.touch_utm_campaign, '(none)') as utm_campaign,
        case
            when sessions.has_utm_touch = 0 then 'direct'
            when lower(sessions.touch_utm_medium) in ('cpc', 'ppc', 'paid', 'paidsearch', 'paid_search') then 'paid_search'
            when lower(sessions.touch_utm_medium) = 'organic' then 'organic_search'
            when lower(sessions.touch_utm_medium) in ('email', 'e-mail') then 'email'
            when lower(sessions.touch_utm_medium) in ('social', 'paid_social', 'social_paid') then 'social'
            when lower(sessions.touch_utm_medium) in ('display', 'banner', 'cpm') then 'display'
            when lower(sessions.touch_utm_medium) = 'referral' then 'referral'
            else 'other'
        end as channel,
        sessions.landing_page_url,
        sessions.landing_referrer,
        sessions.device_category,
        sessions.locale
    from sessions
    where {{ event_window_predicate('sessions.session_date') }}

)

select * from final
