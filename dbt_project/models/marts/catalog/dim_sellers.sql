-- One row per seller (role seller, or anyone with a listing): catalogue size and dates.
-- Erased sellers keep their row without a name.
with

users as (

    select * from {{ ref('int_users_flagged_erased') }}

),

listings as (

    select
        seller_id,
        count(*) as listing_count,
        sum(case when listing_status = 'active' then 1 else 0 end) as active_listing_count,
        min(coalesce(published_at, created_at)) as first_listed_at,
        max(coalesce(published_at, created_at)) as last_listed_at
    from {{ ref('stg_raw__listings') }}
    group by seller_id

),

final as (

    select
        users.user_id as seller_id,
        users.display_name,
        users.is_erased,
        users.is_active,
        coalesce(listings.listing_count, 0) as listing_count,
        coalesce(listings.active_listing_count, 0) as active_listing_count,
        listings.first_listed_at,
        listings.last_listed_at,
        users.created_at as signed_up_at
    from users
    left join listings
        on users.user_id = listings.seller_id
    where users.role = 'seller' or listings.seller_id is not null

)

select * from final
