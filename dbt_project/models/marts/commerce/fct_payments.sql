-- One row per payment: status, amounts, attempts and the time it took to succeed.
with

payments as (

    select * from {{ ref('stg_raw__payments') }}

),

changes as (

    select
        payment_id,
        count(*) as status_change_count,
        min(case when to_status = 'succeeded' then changed_at end) as succeeded_at,
        min(case when to_status = 'canceled' then changed_at end) as canceled_at
    from {{ ref('stg_raw__payment_status_changes') }}
    group by payment_id

),

refunds as (

    select
        payment_id,
        sum(case when refund_status = 'succeeded' then amount_minor else 0 end) as refunds_succeeded_minor
    from {{ ref('stg_raw__refunds') }}
    group by payment_id

),

final as (

    select
        payments.payment_id,
        payments.order_id,
        payments.provider,
        payments.payment_method,
        payments.payment_status,
        payments.payment_status = 'succeeded' as is_succeeded,
        payments.currency,
        payments.amount_minor,
        payments.refunded_minor,
        coalesce(refunds.refunds_succeeded_minor, 0) as refunds_succeeded_minor,
        payments.failed_attempts,
        payments.last_error_code,
        payments.card_brand,
        coalesce(changes.status_change_count, 0) as status_change_count,
        payments.created_at,
        cast(payments.created_at as date) as payment_date,
        changes.succeeded_at,
        changes.canceled_at,
        case
            when changes.succeeded_at is not null
                then {{ dbt.datediff('payments.created_at', 'changes.succeeded_at', 'second') }}
        end as seconds_to_succeed
    from payments
    left join changes
        on payments.payment_id = changes.payment_id
    left join refunds
        on payments.payment_id = refunds.payment_id

)

select * from final
