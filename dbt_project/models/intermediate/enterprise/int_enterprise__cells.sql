{#- Per cell (indicator × statistic × breakdown member): Σ numerator, Σ denominator, the enterprises in it,
    and for the dominance rule each magnitude's total and the sum of its `dominance_n` largest
    contributions. One GROUP BY per breakdown over the wide contributions (macro union_by_breakdowns), then one
    row per cell. -#}
{{ incremental_by_period() }}
{%- set cells = enterprise_cells() -%}
{%- set breakdowns = enterprise_breakdowns() -%}
{%- set top_n = publication_rule_constant('dominance_n', 2) -%}

with

contributions as (
    select * from {{ ref('int_enterprise__contributions') }}
    where {{ period_filter('enterprise') }}
),

aggregated as (
    {% call union_by_breakdowns('contributions', breakdowns, ['period', 'scope']) -%}
        {%- for c in cells %}
        sum(num__{{ c.column }}) as num_sum__{{ c.column }},
        sum(den__{{ c.column }}) as den_sum__{{ c.column }},
        count(num__{{ c.column }}) as n__{{ c.column }},
        {%- if c.dominance %}
        sum(abs(num__{{ c.column }})) as num_magnitude__{{ c.column }},
        sum(abs(den__{{ c.column }})) as den_magnitude__{{ c.column }},
        list_sum(max(abs(num__{{ c.column }}), {{ top_n }})) as num_top__{{ c.column }},
        list_sum(max(abs(den__{{ c.column }}), {{ top_n }})) as den_top__{{ c.column }},
        {%- endif %}
        {%- endfor %}
    {%- endcall %}
),

cells as (
    select
        period,
        scope,
        breakdown,
        member,
        unnest([
        {%- for c in cells %}
            {
                'indicator_code': '{{ c.code }}',
                'statistic': '{{ c.statistic }}',
                'kind': '{{ c.kind }}',
                'dominance': {{ 'true' if c.dominance else 'false' }},
                'num_sum': num_sum__{{ c.column }},
                'den_sum': den_sum__{{ c.column }},
                'n_enterprises': n__{{ c.column }},
                'num_magnitude': {{ ('num_magnitude__' ~ c.column) if c.dominance else 'cast(null as double)' }},
                'den_magnitude': {{ ('den_magnitude__' ~ c.column) if c.dominance else 'cast(null as double)' }},
                'num_top': {{ ('num_top__' ~ c.column) if c.dominance else 'cast(null as double)' }},
                'den_top': {{ ('den_top__' ~ c.column) if c.dominance else 'cast(null as double)' }},
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
        kind,
        dominance,
        breakdown,
        member,
        num_sum,
        den_sum,
        n_enterprises,
        num_magnitude,
        den_magnitude,
        num_top,
        den_top,
    from cells
    where n_enterprises > 0
)

select * from final
