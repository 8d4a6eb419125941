-- One row per (first-order month cohort, months since first order): how many of the
-- cohort's customers placed a paid order that month. Month 0 is the cohort itself (100%).
with

paid_orders as (

    select
        buyer_id,
        {{ dbt.date_trunc('month', 'placed_at') }} as order_month
    from {{ ref('fct_orders') }}
    where is_paid

),

cohorts as (

    select
        buyer_id,
        min(order_month) as cohort_month
    from paid_orders
    group by buyer_id

),

cohort_sizes as (

    select
        cohort_month,
        count(*) as cohort_size
    from cohorts
    group by cohort_month

),

activity as (

    select distinct
        cohorts.cohort_month,
        paid_orders.buyer_id,
        {{ dbt.datediff('cohorts.cohort_month', 'paid_orders.order_month', 'month') }} as months_since_first_order
    from paid_orders
    inner join cohorts
        on paid_orders.buyer_id = cohorts.buyer_id

),

final as (

    select
        cast(activity.cohort_month as date) as cohort_month,
        cast(activity.months_since_first_order as {{ dbt.type_int() }}) as months_since_first_order,
        cohort_sizes.cohort_size,
        count(*) as active_customers,
        cast(count(*) as {{ type_double() }}) / cohort_sizes.cohort_size as retention_rate
    from activity
    inner join cohort_sizes
        on activity.cohort_month = cohort_sizes.cohort_month
    group by activity.cohort_month, activity.months_since_first_order, cohort_sizes.cohort_size

)

select * from final
