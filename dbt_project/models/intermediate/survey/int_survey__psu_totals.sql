{#- Σ w·y, Σ w·x and respondents per PSU for every cell (indicator × statistic × breakdown member): one
    GROUP BY per breakdown over the wide observations (macro union_by_breakdowns), then one row per cell.
    PSUs without rows in a cell are absent here; the variance counts them through int_survey__design. -#}
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
        sum(design_weight * x__{{ c.column }}) as x__{{ c.column }},
        count(*) filter (where x__{{ c.column }} <> 0) as n__{{ c.column }},
        {%- endfor %}
    {%- endcall %}
),

cells as (
    select
        period,
        scope,
        breakdown,
        member,
        stratum,
        psu,
        unnest([
        {%- for c in cells %}
            {
                'indicator_code': '{{ c.code }}',
                'statistic': '{{ c.statistic }}',
                'y_total': y__{{ c.column }},
                'x_total': x__{{ c.column }},
                'n_respondents': n__{{ c.column }},
            },
        {%- endfor %}
        ], recursive := true),
    from aggregated
),

final as (
    select
        period,
        scope,
        indicator_code,
        statistic,
        breakdown,
        member,
        stratum,
        psu,
        y_total,
        x_total,
        n_respondents,
    from cells
    where x_total is not null and (x_total <> 0 or y_total <> 0)
)

select * from final
