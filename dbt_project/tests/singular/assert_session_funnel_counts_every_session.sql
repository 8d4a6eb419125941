-- Consistency: fct_session_funnel_daily counts every session of fct_sessions once, on its start
-- date. A returned row is a day where the funnel and the sessions disagree.
with

sessions_per_day as (

    select session_date, count(*) as sessions
    from {{ ref('fct_sessions') }}
    group by session_date

)

select
    coalesce(funnel.session_date, sessions_per_day.session_date) as session_date,
    funnel.sessions as funnel_sessions,
    sessions_per_day.sessions as fct_sessions
from {{ ref('fct_session_funnel_daily') }} as funnel
full outer join sessions_per_day
    on funnel.session_date = sessions_per_day.session_date
where funnel.session_date is null
    or sessions_per_day.session_date is null
    or funnel.sessions <> sessions_per_day.sessions
