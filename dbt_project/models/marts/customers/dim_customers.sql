-- One row per shopper account (role shopper, or anyone who placed an order): consent,
-- first and last order, lifetime value. Erased accounts stay (counts must reconcile) but
-- carry no PII: e-mail, the identifier hashes and name are null and every consent false.
-- email_sha256 and phone_sha256 come from the load (audiences.identifiers, the one
-- Customer Match normaliser), so the warehouse and audience files hash alike.
with

users as (

    select * from {{ ref('int_users_flagged_erased') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

consent as (

    select
        user_id,
        max(
            case when purpose in ('ad_user_data', 'ad_personalization', 'marketing') then recorded_at end
        ) as last_consent_change_at,
        count(*) as consent_event_count
    from {{ ref('stg_raw__consent_events') }}
    group by user_id

),

order_figures as (

    select
        buyer_id,
        count(*) as orders_placed,
        sum(case when is_paid then 1 else 0 end) as orders_paid,
        min(case when is_paid then placed_at end) as first_order_at,
        max(case when is_paid then placed_at end) as last_order_at,
        sum(case when is_paid then total_minor else 0 end) as gross_spend_minor,
        sum(case when is_paid then refunded_minor else 0 end) as refunded_minor
    from orders
    group by buyer_id

),

final as (

    select
        users.user_id as customer_id,
        users.role,
        users.is_erased,
        users.erased_at,
        users.is_active,
        users.email,
        users.email_sha256,
        users.phone_sha256,
        users.display_name,
        users.has_ad_user_data_consent,
        users.ad_user_data_consent_at,
        users.ad_user_data_consent_source,
        users.has_ad_personalization_consent,
        users.ad_personalization_consent_at,
        users.ad_personalization_consent_source,
        users.has_marketing_consent,
        consent.last_consent_change_at,
        cast(coalesce(consent.consent_event_count, 0) as {{ dbt.type_bigint() }}) as consent_event_count,
        cast(coalesce(order_figures.orders_placed, 0) as {{ dbt.type_bigint() }}) as orders_placed,
        cast(coalesce(order_figures.orders_paid, 0) as {{ dbt.type_bigint() }}) as orders_paid,
        order_figures.first_order_at,
        order_figures.last_order_at,
        cast(order_figures.first_order_at as date) as first_order_date,
        cast(coalesce(order_figures.gross_spend_minor, 0) as {{ dbt.type_bigint() }}) as gross_spend_minor,
        cast(coalesce(order_figures.gross_spend_minor, 0) - coalesce(order_figures.refunded_minor, 0) as {{ dbt.type_bigint() }}) as lifetime_value_minor,
        case
            when coalesce(order_figures.orders_paid, 0) > 0
                then cast(coalesce(order_figures.gross_spend_minor, 0) as {{ type_double() }}) / order_figures.orders_paid
        end as average_order_value_minor,
        users.created_at as signed_up_at,
        users.last_login_at
    from users
    left join consent
        on users.user_id = consent.user_id
    left join order_figures
        on users.user_id = order_figures.buyer_id
    where users.role = 'shopper' or order_figures.buyer_id is not null

)

select * from final
