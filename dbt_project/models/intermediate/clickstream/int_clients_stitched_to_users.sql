{#- Tagged daily_partitioned: Dagster runs it with the incremental event models, between
    stg_raw__events and interactions, in one dbt invocation (a view over all events). -#}
{{ config(tags=['daily_partitioned']) }}
-- Identity stitching: each device (client_id) that was ever logged in, mapped to the account
-- it was last logged in as, so its anonymous events can be credited to that account.
with

logged_in as (

    select
        client_id,
        user_id,
        row_number() over (partition by client_id order by event_at desc, event_id desc) as recency_rank
    from {{ ref('stg_raw__events') }}
    where user_id is not null

)

select
    client_id,
    user_id
from logged_in
where recency_rank = 1
