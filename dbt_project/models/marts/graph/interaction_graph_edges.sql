-- One row per edge of the marketplace graph, between vertices of interaction_graph_nodes:
-- buyer-purchased->product (weight = units), seller-sells->product,
-- product-in_category->category, buyer-asked->question, question-about->product,
-- seller-answered->question, buyer-wrote->review, review-reviews->product (weight = rating).
-- Edges touching a vertex that is not in the graph (an erased buyer) are left out.
with

nodes as (

    select node_id from {{ ref('interaction_graph_nodes') }}

),

purchased as (

    select
        'buyer:' || buyer_id as from_node_id,
        'product:' || listing_id as to_node_id,
        'purchased' as edge_label,
        cast(sum(quantity) as {{ type_double() }}) as weight,
        min(placed_at) as created_at
    from {{ ref('fct_order_items') }}
    where is_paid
    group by buyer_id, listing_id

),

sells as (

    select
        'seller:' || seller_id,
        'product:' || product_id,
        'sells',
        cast(1 as {{ type_double() }}),
        created_at
    from {{ ref('dim_products') }}

),

in_category as (

    select
        'product:' || product_id,
        'category:' || category_id,
        'in_category',
        cast(1 as {{ type_double() }}),
        created_at
    from {{ ref('dim_products') }}

),

questions as (

    select * from {{ ref('stg_raw__questions') }}

),

asked as (

    select 'buyer:' || asker_id, 'question:' || question_id, 'asked', cast(1 as {{ type_double() }}), asked_at
    from questions

),

about as (

    select 'question:' || question_id, 'product:' || listing_id, 'about', cast(1 as {{ type_double() }}), asked_at
    from questions

),

answered as (

    select
        'seller:' || answered_by_id,
        'question:' || question_id,
        'answered',
        cast({{ dbt.datediff('asked_at', 'answered_at', 'second') }} as {{ type_double() }}) / 3600,
        answered_at
    from questions
    where answered_at is not null

),

reviews as (

    select * from {{ ref('stg_raw__reviews') }}

),

wrote as (

    select 'buyer:' || buyer_id, 'review:' || review_id, 'wrote', cast(rating as {{ type_double() }}), reviewed_at
    from reviews

),

reviews_product as (

    select 'review:' || review_id, 'product:' || listing_id, 'reviews', cast(rating as {{ type_double() }}), reviewed_at
    from reviews

),

edges as (

    select * from purchased
    union all select * from sells
    union all select * from in_category
    union all select * from asked
    union all select * from about
    union all select * from answered
    union all select * from wrote
    union all select * from reviews_product

)

select
    {{ dbt.hash("edges.from_node_id || '|' || edges.edge_label || '|' || edges.to_node_id") }} as edge_id,
    edges.from_node_id,
    edges.to_node_id,
    edges.edge_label,
    edges.weight,
    edges.created_at
from edges
inner join nodes as from_nodes
    on edges.from_node_id = from_nodes.node_id
inner join nodes as to_nodes
    on edges.to_node_id = to_nodes.node_id
