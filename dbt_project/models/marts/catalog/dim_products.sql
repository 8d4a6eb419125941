-- One row per listing (product): current catalogue attributes, category, images, sales and
-- review figures.
with

listings as (

    select * from {{ ref('stg_raw__listings') }}

),

categories as (

    select * from {{ ref('stg_raw__categories') }}

),

images as (

    select listing_id, count(*) as image_count
    from {{ ref('stg_raw__listing_images') }}
    group by listing_id

),

sales as (

    select
        listing_id,
        count(distinct order_id) as orders_paid,
        sum(quantity) as units_sold,
        sum(line_total_minor) as gross_sales_minor,
        count(review_id) as review_count,
        avg(review_rating) as average_rating
    from {{ ref('int_order_items_joined_to_listings') }}
    where is_paid
    group by listing_id

),

questions as (

    select
        listing_id,
        count(*) as question_count,
        sum(case when answered_at is not null then 1 else 0 end) as answered_question_count
    from {{ ref('stg_raw__questions') }}
    group by listing_id

),

final as (

    select
        listings.listing_id as product_id,
        listings.seller_id,
        listings.category_id,
        categories.category_slug,
        categories.category_name,
        categories.category_path,
        listings.title,
        listings.listing_status,
        listings.item_condition,
        listings.currency,
        listings.price_minor,
        listings.stock,
        cast(coalesce(images.image_count, 0) as {{ dbt.type_bigint() }}) as image_count,
        cast(coalesce(sales.orders_paid, 0) as {{ dbt.type_bigint() }}) as orders_paid,
        cast(coalesce(sales.units_sold, 0) as {{ dbt.type_bigint() }}) as units_sold,
        cast(coalesce(sales.gross_sales_minor, 0) as {{ dbt.type_bigint() }}) as gross_sales_minor,
        cast(coalesce(sales.review_count, 0) as {{ dbt.type_bigint() }}) as review_count,
        cast(sales.average_rating as {{ type_double() }}) as average_rating,
        cast(coalesce(questions.question_count, 0) as {{ dbt.type_bigint() }}) as question_count,
        cast(coalesce(questions.answered_question_count, 0) as {{ dbt.type_bigint() }}) as answered_question_count,
        listings.created_at,
        listings.published_at
    from listings
    left join categories
        on listings.category_id = categories.category_id
    left join images
        on listings.listing_id = images.listing_id
    left join sales
        on listings.listing_id = sales.listing_id
    left join questions
        on listings.listing_id = questions.listing_id

)

select * from final
