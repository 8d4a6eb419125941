-- Privacy: no mart carries personal data of a user listed in raw.shop_erasure_records
-- (e-mail, e-mail and phone hashes, name, any ad consent, user_id on clickstream facts, interactions, graph
-- vertices). A returned row names the mart and the erased user it still identifies.
with

erased as (

    select {{ normalize_uuid('user_id') }} as user_id
    from {{ source('raw', 'shop_erasure_records') }}

)

select 'dim_customers' as mart, customer_id as user_id
from {{ ref('dim_customers') }}
where customer_id in (select user_id from erased)
    and (
        email is not null or email_sha256 is not null or phone_sha256 is not null
        or display_name is not null
        or has_ad_user_data_consent or has_ad_personalization_consent or has_marketing_consent
    )
union all
select 'dim_sellers', seller_id
from {{ ref('dim_sellers') }}
where seller_id in (select user_id from erased)
    and display_name is not null
union all
select 'fct_sessions', user_id
from {{ ref('fct_sessions') }}
where user_id in (select user_id from erased)
union all
select 'stg_raw__events', user_id
from {{ ref('stg_raw__events') }}
where user_id in (select user_id from erased)
union all
select 'interactions', user_id
from {{ ref('interactions') }}
where user_id in (select user_id from erased)
union all
select 'interaction_graph_nodes', entity_id
from {{ ref('interaction_graph_nodes') }}
where node_label = 'buyer'
    and entity_id in (select user_id from erased)
union all
select 'customer_rfm', customer_id
from {{ ref('customer_rfm') }}
where customer_id in (select user_id from erased)
