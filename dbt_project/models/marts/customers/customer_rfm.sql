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

-- Each score is 1 + floor(5 x (rank - 1) / (customers - 1)), capped at 5 (1 for a lone
-- customer), ranking from the worst value to the best: the percent rank in fifths, in exact
-- arithmetic. Ties share the rank of their first row, so customers with equal values always
-- get the same score (500 one-time buyers are all frequency 1, not spread over 1-5 by id).
{%- set scores = {
    'recency_score': 'recency_days desc',
    'frequency_score': 'frequency',
    'monetary_score': 'monetary_minor',
} %}
scored as (

    select
        *,
        {%- for score, worst_first in scores.items() %}
        cast(least(5, 1 + floor(coalesce(
            5.0 * (rank() over (order by {{ worst_first }}) - 1)
            / nullif(count(*) over () - 1, 0),
            0
        ))) as {{ dbt.type_int() }}) as {{ score }}{{ ',' if not loop.last }}
        {%- endfor %}
    from measured

),

final as (

    select
        customer_id,
        as_of_date,
        recency_days,
        frequency,
        monetary_minor,
        recency_score,
        frequency_score,
        monetary_score,
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
