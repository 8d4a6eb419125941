{# One bound of the Wilson score interval of a proportion successes / trials (95% by default): unlike the normal approximation it stays within [0, 1] and behaves at small counts; null without trials. #}
{% macro wilson_bound(successes, trials, side, z=1.96) -%}
    {#- in floating point throughout: Spark would do decimal arithmetic on the literals and
        round every intermediate result to 6 decimals -#}
    {%- set p = '(cast(least(' ~ successes ~ ', ' ~ trials ~ ') as ' ~ type_double() ~ ') / nullif(' ~ trials ~ ', 0))' -%}
    {%- set n = '(cast(' ~ trials ~ ' as ' ~ type_double() ~ '))' -%}
    {%- set z2 = z * z -%}
    (
        ({{ p }} + {{ z2 }} / (2.0 * {{ n }}))
        {{ '-' if side == 'low' else '+' }} {{ z }} * sqrt({{ p }} * (1 - {{ p }}) / {{ n }} + {{ z2 }} / (4.0 * {{ n }} * {{ n }}))
    ) / (1 + {{ z2 }} / {{ n }})
{%- endmacro %}
