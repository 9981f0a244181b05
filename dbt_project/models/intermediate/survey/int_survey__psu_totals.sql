{#- Σ w·y, Σ w·x and respondents per PSU for every cell (indicator × statistic × breakdown member): one
    GROUP BY per breakdown over the wide observations (macro union_by_breakdowns). Wide, one row per
    breakdown member × PSU with columns y__<cell>, x__<cell>, n__<cell>: a long table (one row per cell ×
    PSU) would hold ~20 M rows at national scale. PSUs without rows in a member are absent here; the
    variance counts them through int_survey__design. n counts the rows whose x enters the denominator
    (x non-null and non-zero) as count(nullif(x, 0)), which DuckDB computes faster than a filtered count(*).
    A cell whose x is the constant 1 (`unit_x`) has no x column in the observations: Σ w·x is the weight of
    the rows with a y, n their count (a CASE, which DuckDB evaluates faster than a FILTER clause here). -#}
{#- A view: int_survey__ratio_estimates alone reads it, and DuckDB pushes that model's period filter through
    it down to the raw rows, so these totals are never written. -#}
{{ config(materialized='view') }}
{%- set cells = survey_ratio_cells() -%}
{%- set breakdowns = survey_breakdowns() -%}

with

observations as (
    select * from {{ ref('int_survey__observations') }}
),

aggregated as (
    {% call union_by_breakdowns('observations', breakdowns, ['period', 'scope', 'stratum', 'psu']) -%}
        {%- for c in cells %}
        sum(design_weight * y__{{ c.column }}) as y__{{ c.column }},
        {%- if c.unit_x %}
        sum(case when y__{{ c.column }} is not null then design_weight end) as x__{{ c.column }},
        count(y__{{ c.column }}) as n__{{ c.column }},
        {%- else %}
        sum(design_weight * x__{{ c.column }}) as x__{{ c.column }},
        count(nullif(x__{{ c.column }}, 0)) as n__{{ c.column }},
        {%- endif %}
        {%- endfor %}
    {%- endcall %}
),

final as (
    select * from aggregated
)

select * from final
