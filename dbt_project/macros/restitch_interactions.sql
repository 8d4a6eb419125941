{# Post-hook for interactions: rows built for a device before it first logged in (keyed
   'client:<client_id>', outside this run's window) move to the account it is now stitched
   to, merged with that account's row of the same product and day. The account's history
   is then whole, and erasing the account reaches the device's browsing too. #}
{% macro restitch_interactions() -%}
    {{ return(adapter.dispatch('restitch_interactions', 'mercado')()) }}
{%- endmacro %}

{% macro default__restitch_interactions() -%}
    {%- set signals = 'views, clicks, cart_adds, units_purchased, review_rating, first_interaction_at, last_interaction_at' -%}
    {#- the stitching view reads every event: joined once, its moves kept for the delete -#}
    create or replace temporary table restitched_moves as
    select
        anonymous.user_key as from_key,
        stitched.user_id as user_key,
        stitched.user_id,
        anonymous.product_id,
        anonymous.interaction_date,
        {{ signals }}
    from {{ this }} as anonymous
    inner join {{ ref('int_clients_stitched_to_users') }} as stitched
        on anonymous.user_key = 'client:' || stitched.client_id;

    create or replace temporary table restitched_interactions as
    with

    merged as (

        select user_key, user_id, product_id, interaction_date, {{ signals }}
        from restitched_moves
        union all
        select user_key, user_id, product_id, interaction_date, {{ signals }}
        from {{ this }}
        where (user_key, product_id, interaction_date) in (
            select user_key, product_id, interaction_date from restitched_moves
        )

    )

    select
        user_key,
        max(user_id) as user_id,
        product_id,
        interaction_date,
        sum(views) as views,
        sum(clicks) as clicks,
        sum(cart_adds) as cart_adds,
        sum(units_purchased) as units_purchased,
        max(review_rating) as review_rating,
        {{ interaction_weight('sum(views)', 'sum(clicks)', 'sum(cart_adds)', 'sum(units_purchased)', 'max(review_rating)') }} as interaction_weight,
        min(first_interaction_at) as first_interaction_at,
        max(last_interaction_at) as last_interaction_at
    from merged
    group by user_key, product_id, interaction_date;

    delete from {{ this }}
    where user_key in (select from_key from restitched_moves)
       or (user_key, product_id, interaction_date) in (
            select user_key, product_id, interaction_date from restitched_interactions
        );

    insert into {{ this }} by name select * from restitched_interactions;

    drop table restitched_moves;
    drop table restitched_interactions
{%- endmacro %}

{% macro spark__restitch_interactions() -%}
    {#- nothing to do: on Spark the model is rebuilt whole on every run (incremental_config),
        with today's stitching -#}
{%- endmacro %}
