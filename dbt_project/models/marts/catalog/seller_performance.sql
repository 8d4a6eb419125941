-- One row per seller: paid sales, shipping and delivery times, review scores and how fast
-- buyer questions get answered.
with

sellers as (

    select * from {{ ref('dim_sellers') }}

),

groups as (

    select
        groups.seller_id,
        count(*) as orders_paid,
        sum(groups.total_minor) as gross_sales_minor,
        -- Averages of whole seconds, then hours: the same figure on every run (an average
        -- of floating-point hours depends on the order parallel threads add them up in).
        avg(case when groups.shipped_at is not null
            then {{ dbt.datediff('orders.paid_at', 'groups.shipped_at', 'second') }} end) / 3600.0 as avg_hours_to_ship,
        avg(case when groups.delivered_at is not null and groups.shipped_at is not null
            then {{ dbt.datediff('groups.shipped_at', 'groups.delivered_at', 'second') }} end) / 3600.0 as avg_hours_to_deliver,
        sum(case when groups.delivered_at is not null then 1 else 0 end) as orders_delivered,
        -- source anomalies (imported data): paid after shipping, or delivered before
        -- shipping; their durations are in the averages as recorded
        sum(case when orders.paid_at > groups.shipped_at or groups.shipped_at > groups.delivered_at
            then 1 else 0 end) as timeline_anomaly_orders
    from {{ ref('stg_raw__fulfilment_groups') }} as groups
    inner join {{ ref('stg_raw__orders') }} as orders
        on groups.order_id = orders.order_id
    where orders.paid_at is not null
    group by groups.seller_id

),

units as (

    select seller_id, sum(quantity) as units_sold
    from {{ ref('fct_order_items') }}
    where is_paid
    group by seller_id

),

reviews as (

    select
        seller_id,
        count(*) as review_count,
        avg(rating) as average_rating
    from {{ ref('stg_raw__reviews') }}
    group by seller_id

),

questions as (

    select
        listings.seller_id,
        count(*) as questions_received,
        sum(case when questions.answered_at is not null then 1 else 0 end) as questions_answered,
        avg(case when questions.answered_at is not null
            then {{ dbt.datediff('questions.asked_at', 'questions.answered_at', 'second') }} end) / 3600.0 as avg_answer_hours
    from {{ ref('stg_raw__questions') }} as questions
    inner join {{ ref('stg_raw__listings') }} as listings
        on questions.listing_id = listings.listing_id
    group by listings.seller_id

),

final as (

    select
        sellers.seller_id,
        sellers.listing_count,
        sellers.active_listing_count,
        coalesce(groups.orders_paid, 0) as orders_paid,
        coalesce(units.units_sold, 0) as units_sold,
        coalesce(groups.gross_sales_minor, 0) as gross_sales_minor,
        coalesce(groups.orders_delivered, 0) as orders_delivered,
        groups.avg_hours_to_ship,
        groups.avg_hours_to_deliver,
        coalesce(groups.timeline_anomaly_orders, 0) as timeline_anomaly_orders,
        coalesce(reviews.review_count, 0) as review_count,
        reviews.average_rating,
        coalesce(questions.questions_received, 0) as questions_received,
        coalesce(questions.questions_answered, 0) as questions_answered,
        case
            when coalesce(questions.questions_received, 0) > 0
                then cast(questions.questions_answered as {{ type_double() }}) / questions.questions_received
        end as answer_rate,
        questions.avg_answer_hours
    from sellers
    left join groups
        on sellers.seller_id = groups.seller_id
    left join units
        on sellers.seller_id = units.seller_id
    left join reviews
        on sellers.seller_id = reviews.seller_id
    left join questions
        on sellers.seller_id = questions.seller_id

)

select * from final
