-- One row per customer with at least one paid order (erased customers excluded): recency,
-- frequency and monetary value scored 1-5 (5 best) against the other customers, and a
-- segment. Recency is measured from the last order date in the data, so a rebuild on the
-- same data gives the same scores.
with

customers as (

    select * from {{ ref('dim_customers') }}
    where orders_paid > 0
        and not is_erased

),

as_of as (

    select max(last_order_at) as as_of_at from customers

),

measured as (

    select
        customers.customer_id,
        cast({{ dbt.datediff('customers.last_order_at', 'as_of.as_of_at', 'day') }} as {{ dbt.type_bigint() }}) as recency_days,
        customers.orders_paid as frequency,
        customers.lifetime_value_minor as monetary_minor,
        cast(as_of.as_of_at as date) as as_of_date
    from customers
    cross join as_of

),

scored as (

    select
        *,
        6 - ntile(5) over (order by recency_days, customer_id) as recency_score,
        ntile(5) over (order by frequency, customer_id) as frequency_score,
        ntile(5) over (order by monetary_minor, customer_id) as monetary_score
    from measured

),

final as (

    select
        customer_id,
        as_of_date,
        recency_days,
        frequency,
        monetary_minor,
        cast(recency_score as {{ dbt.type_int() }}) as recency_score,
        cast(frequency_score as {{ dbt.type_int() }}) as frequency_score,
        cast(monetary_score as {{ dbt.type_int() }}) as monetary_score,
        cast(recency_score as {{ dbt.type_string() }})
            || cast(frequency_score as {{ dbt.type_string() }})
            || cast(monetary_score as {{ dbt.type_string() }}) as rfm_code,
        case
            when recency_score >= 4 and frequency_score >= 4 and monetary_score >= 4 then 'champions'
            when recency_score >= 3 and frequency_score >= 3 then 'loyal'
            when recency_score >= 4 and frequency_score <= 2 then 'new_or_promising'
            when recency_score <= 2 and frequency_score >= 3 then 'at_risk'
            when recency_score <= 2 and frequency_score <= 2 then 'hibernating'
            else 'needs_attention'
        end as rfm_segment
    from scored

)

select * from final
