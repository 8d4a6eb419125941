-- Every account with its erasure state: erased when the account says so or an erasure
-- record exists (a request still running counts: no PII from the moment it is asked).
-- Erased accounts lose e-mail, name, the identifier hashes and every ad consent.
with

users as (

    select * from {{ ref('stg_raw__users') }}

),

erasures as (

    select
        user_id,
        min(requested_at) as erasure_requested_at,
        max(completed_at) as erasure_completed_at
    from {{ ref('stg_raw__erasure_records') }}
    group by user_id

),

flagged as (

    select
        users.user_id,
        users.role,
        users.is_active,
        users.created_at,
        users.last_login_at,
        (users.erased_at is not null or erasures.user_id is not null) as is_erased,
        coalesce(users.erased_at, erasures.erasure_completed_at, erasures.erasure_requested_at) as erased_at,
        case when users.erased_at is null and erasures.user_id is null then users.email end as email,
        case when users.erased_at is null and erasures.user_id is null then users.display_name end as display_name,
        case when users.erased_at is null and erasures.user_id is null then users.email_sha256 end as email_sha256,
        case when users.erased_at is null and erasures.user_id is null then users.phone_sha256 end as phone_sha256,
        coalesce(
            users.erased_at is null and erasures.user_id is null and users.has_ad_user_data_consent, false
        ) as has_ad_user_data_consent,
        users.ad_user_data_consent_at,
        users.ad_user_data_consent_source,
        coalesce(
            users.erased_at is null and erasures.user_id is null and users.has_ad_personalization_consent, false
        ) as has_ad_personalization_consent,
        users.ad_personalization_consent_at,
        users.ad_personalization_consent_source
    from users
    left join erasures
        on users.user_id = erasures.user_id

),

final as (

    select
        *,
        -- the shop's old single flag, kept for readers: both ad purposes granted
        has_ad_user_data_consent and has_ad_personalization_consent as has_marketing_consent
    from flagged

)

select * from final
