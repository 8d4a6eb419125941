-- One row per vertex of the marketplace graph: buyers, sellers, products, categories,
-- questions and reviews. Ids are '<label>:<uuid>' so a person who both buys and sells is
-- two vertices. Erased buyers are left out; no vertex carries personal data (no names or
-- e-mails, no question or review text).
with

users as (

    select * from {{ ref('int_users_flagged_erased') }}

),

buyers as (

    select distinct buyer_id as user_id from {{ ref('fct_orders') }} where is_paid
    union
    select asker_id from {{ ref('stg_raw__questions') }}
    union
    select buyer_id from {{ ref('stg_raw__reviews') }}

),

buyer_nodes as (

    select
        'buyer:' || users.user_id as node_id,
        'buyer' as node_label,
        users.user_id as entity_id,
        cast(null as {{ dbt.type_string() }}) as node_name,
        cast(null as {{ dbt.type_bigint() }}) as price_minor,
        cast(null as {{ dbt.type_int() }}) as rating,
        users.created_at
    from buyers
    inner join users
        on buyers.user_id = users.user_id
    where not users.is_erased

),

seller_nodes as (

    select
        'seller:' || seller_id as node_id,
        'seller' as node_label,
        seller_id as entity_id,
        cast(null as {{ dbt.type_string() }}) as node_name,
        cast(null as {{ dbt.type_bigint() }}) as price_minor,
        cast(null as {{ dbt.type_int() }}) as rating,
        signed_up_at as created_at
    from {{ ref('dim_sellers') }}
    where not is_erased

),

product_nodes as (

    select
        'product:' || product_id as node_id,
        'product' as node_label,
        product_id as entity_id,
        title as node_name,
        price_minor,
        cast(null as {{ dbt.type_int() }}) as rating,
        created_at
    from {{ ref('dim_products') }}

),

category_nodes as (

    select
        'category:' || category_id as node_id,
        'category' as node_label,
        category_id as entity_id,
        category_name as node_name,
        cast(null as {{ dbt.type_bigint() }}) as price_minor,
        cast(null as {{ dbt.type_int() }}) as rating,
        created_at
    from {{ ref('stg_raw__categories') }}

),

question_nodes as (

    select
        'question:' || question_id as node_id,
        'question' as node_label,
        question_id as entity_id,
        cast(null as {{ dbt.type_string() }}) as node_name,
        cast(null as {{ dbt.type_bigint() }}) as price_minor,
        cast(null as {{ dbt.type_int() }}) as rating,
        asked_at as created_at
    from {{ ref('stg_raw__questions') }}

),

review_nodes as (

    select
        'review:' || review_id as node_id,
        'review' as node_label,
        review_id as entity_id,
        cast(null as {{ dbt.type_string() }}) as node_name,
        cast(null as {{ dbt.type_bigint() }}) as price_minor,
        rating,
        reviewed_at as created_at
    from {{ ref('stg_raw__reviews') }}

)

select * from buyer_nodes
union all
select * from seller_nodes
union all
select * from product_nodes
union all
select * from category_nodes
union all
select * from question_nodes
union all
select * from review_nodes
