-- Reconciliation: dim_customers has one row per raw shopper account plus any other account
-- that placed an order, and its buyers with a paid order match the distinct buyers of paid
-- orders in raw.shop_orders. A returned row shows the expected and actual counts.
with

expected as (

    select count(*) as customers
    from {{ source('raw', 'shop_users') }}
    where role = 'shopper'
        or id in (select buyer_id from {{ source('raw', 'shop_orders') }})

),

expected_buyers as (

    select count(distinct buyer_id) as buyers
    from {{ source('raw', 'shop_orders') }}
    where paid_at is not null

),

actual as (

    select
        count(*) as customers,
        sum(case when orders_paid > 0 then 1 else 0 end) as buyers
    from {{ ref('dim_customers') }}

)

select
    expected.customers as expected_customers,
    actual.customers as actual_customers,
    expected_buyers.buyers as expected_buyers,
    actual.buyers as actual_buyers
from expected
cross join expected_buyers
cross join actual
where expected.customers <> actual.customers
    or expected_buyers.buyers <> actual.buyers
