{{
    config(
        materialized='incremental',
        unique_key=['model_version', 'activity_date'],
        on_schema_change='fail',
        **incremental_config()
    )
}}
-- One row per recommender model version per UTC day: item impressions and clicks from
-- view_item_list / select_item events whose list_id is 'recs:<version>', the experiment arm
-- the shop recorded on those impressions (params.ab_arm), and the add-to-carts and purchases
-- made that day that are attributed to a recommendation click: the same device (server-side
-- events resolved to the shopper's device, see int_events_resolved_to_devices) added or
-- bought the clicked item within var('recs_attribution_days') days after the click. Each
-- added or purchased line is credited once, to the version of the latest click before it.
-- Rates come with 95% Wilson intervals, so versions (and arms) can be compared with their
-- uncertainty. Incremental on activity_date.
with

item_events as (

    select * from {{ ref('stg_raw__event_items') }}
    where {{ event_window_predicate('event_date', pad_days=var('recs_attribution_days')) }}

),

recs_items as (

    select
        event_id,
        event_name,
        client_id,
        listing_id,
        event_at,
        event_date,
        substring(list_id, 6) as model_version
    from item_events
    where list_id like 'recs:%'
        and event_name in ('view_item_list', 'select_item')

),

served_arms as (

    select
        event_id,
        ab_arm
    from {{ ref('stg_raw__events') }}
    where {{ event_window_predicate('event_date', pad_days=var('recs_attribution_days')) }}
        and event_name = 'view_item_list'
        and list_id like 'recs:%'

),

impressions as (

    select
        recs_items.model_version,
        recs_items.event_date as activity_date,
        count(*) as impressions,
        count(distinct recs_items.event_id) as list_views,
        count(distinct recs_items.client_id) as devices_reached,
        case
            when min(served_arms.ab_arm) = max(served_arms.ab_arm) then min(served_arms.ab_arm)
            when min(served_arms.ab_arm) is not null then 'mixed'
        end as ab_arm
    from recs_items
    left join served_arms
        on recs_items.event_id = served_arms.event_id
    where recs_items.event_name = 'view_item_list'
    group by recs_items.model_version, recs_items.event_date

),

clicks as (

    select
        model_version,
        event_date as activity_date,
        count(*) as clicks
    from recs_items
    where event_name = 'select_item'
    group by model_version, event_date

),

-- Purchased and added-to-cart lines, each credited to the latest recommendation click of
-- the same item on the same device within the attribution window.
converted_lines as (

    select
        item_events.event_id,
        item_events.event_name,
        item_events.item_position,
        coalesce(devices.device_id, item_events.client_id) as device_id,
        item_events.listing_id,
        item_events.event_at,
        item_events.event_date,
        coalesce(item_events.price_minor, 0) * item_events.quantity as revenue_minor
    from item_events
    left join {{ ref('int_events_resolved_to_devices') }} as devices
        on item_events.event_id = devices.event_id
    where item_events.event_name in ('purchase', 'add_to_cart')

),

attributed as (

    select
        recs_items.model_version,
        converted_lines.event_name,
        converted_lines.event_date as activity_date,
        converted_lines.event_id,
        converted_lines.revenue_minor,
        row_number() over (
            partition by converted_lines.event_id, converted_lines.item_position
            order by recs_items.event_at desc, recs_items.event_id desc
        ) as click_rank
    from converted_lines
    inner join recs_items
        on converted_lines.device_id = recs_items.client_id
        and converted_lines.listing_id = recs_items.listing_id
        and recs_items.event_name = 'select_item'
        and recs_items.event_at <= converted_lines.event_at
        and recs_items.event_at >= {{ dbt.dateadd('day', -var('recs_attribution_days'), 'converted_lines.event_at') }}

),

add_to_carts as (

    select
        model_version,
        activity_date,
        count(*) as attributed_add_to_carts
    from attributed
    where click_rank = 1
        and event_name = 'add_to_cart'
    group by model_version, activity_date

),

purchases as (

    select
        model_version,
        activity_date,
        count(*) as attributed_purchased_items,
        count(distinct event_id) as attributed_purchases,
        sum(revenue_minor) as attributed_revenue_minor
    from attributed
    where click_rank = 1
        and event_name = 'purchase'
    group by model_version, activity_date

),

keys as (

    select model_version, activity_date from impressions
    union
    select model_version, activity_date from clicks
    union
    select model_version, activity_date from add_to_carts
    union
    select model_version, activity_date from purchases

),

final as (

    select
        keys.model_version,
        keys.activity_date,
        cast(coalesce(impressions.impressions, 0) as {{ dbt.type_bigint() }}) as impressions,
        cast(coalesce(impressions.list_views, 0) as {{ dbt.type_bigint() }}) as list_views,
        cast(coalesce(impressions.devices_reached, 0) as {{ dbt.type_bigint() }}) as devices_reached,
        cast(coalesce(clicks.clicks, 0) as {{ dbt.type_bigint() }}) as clicks,
        case
            when impressions.impressions > 0
                then cast(coalesce(clicks.clicks, 0) as {{ type_double() }}) / impressions.impressions
        end as click_through_rate,
        cast(coalesce(purchases.attributed_purchases, 0) as {{ dbt.type_bigint() }}) as attributed_purchases,
        cast(coalesce(purchases.attributed_purchased_items, 0) as {{ dbt.type_bigint() }}) as attributed_purchased_items,
        cast(coalesce(purchases.attributed_revenue_minor, 0) as {{ dbt.type_bigint() }}) as attributed_revenue_minor,
        cast(impressions.ab_arm as {{ dbt.type_string() }}) as ab_arm,
        cast(round({{ wilson_bound('coalesce(clicks.clicks, 0)', 'impressions.impressions', 'low') }}, 6) as {{ type_double() }})
            as click_through_rate_ci_low,
        cast(round({{ wilson_bound('coalesce(clicks.clicks, 0)', 'impressions.impressions', 'high') }}, 6) as {{ type_double() }})
            as click_through_rate_ci_high,
        cast(coalesce(add_to_carts.attributed_add_to_carts, 0) as {{ dbt.type_bigint() }}) as attributed_add_to_carts,
        case
            when impressions.impressions > 0
                then cast(coalesce(add_to_carts.attributed_add_to_carts, 0) as {{ type_double() }}) / impressions.impressions
        end as add_to_cart_rate,
        cast(round({{ wilson_bound('coalesce(add_to_carts.attributed_add_to_carts, 0)', 'impressions.impressions', 'low') }}, 6) as {{ type_double() }})
            as add_to_cart_rate_ci_low,
        cast(round({{ wilson_bound('coalesce(add_to_carts.attributed_add_to_carts, 0)', 'impressions.impressions', 'high') }}, 6) as {{ type_double() }})
            as add_to_cart_rate_ci_high
    from keys
    left join impressions
        on keys.model_version = impressions.model_version
        and keys.activity_date = impressions.activity_date
    left join clicks
        on keys.model_version = clicks.model_version
        and keys.activity_date = clicks.activity_date
    left join add_to_carts
        on keys.model_version = add_to_carts.model_version
        and keys.activity_date = add_to_carts.activity_date
    left join purchases
        on keys.model_version = purchases.model_version
        and keys.activity_date = purchases.activity_date
    where {{ event_window_predicate('keys.activity_date') }}

)

select * from final
