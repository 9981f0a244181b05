{#- Per cell (indicator × statistic × breakdown member): Σ numerator, Σ denominator, the enterprises in it,
    and for the dominance rule each magnitude's total and the sum of its `dominance_n` largest
    contributions. The returns are first summed per combination of every breakdown's member (`fine`: some
    900 rows for half a million returns), then each breakdown rolls those up (macro union_by_breakdowns):
    sums and counts add up, and the `dominance_n` largest contributions of a member are the largest among
    its combinations' own `dominance_n` largest. So the wide contributions are read in one pass, instead of
    once per breakdown, which would make DuckDB store them all first. -#}
{{ incremental_by_period() }}
{%- set cells = enterprise_cells() -%}
{%- set breakdowns = enterprise_breakdowns() -%}
{%- set top_n = publication_rule_constant('dominance_n', 2) -%}

with

contributions as (
    select * from {{ ref('int_enterprise__contributions') }}
    where {{ period_filter('enterprise') }}
),

fine as (
    select
        period,
        scope,
        {%- for b in breakdowns if b.name != 'national' %}
        bd_{{ b.name }},
        {%- endfor %}
        {%- for c in cells %}
        sum(num__{{ c.column }}) as num_sum__{{ c.column }},
        sum(den__{{ c.column }}) as den_sum__{{ c.column }},
        count(num__{{ c.column }}) as n__{{ c.column }},
        {%- if c.dominance %}
        sum(abs(num__{{ c.column }})) as num_magnitude__{{ c.column }},
        sum(abs(den__{{ c.column }})) as den_magnitude__{{ c.column }},
        max(abs(num__{{ c.column }}), {{ top_n }}) as num_top__{{ c.column }},
        max(abs(den__{{ c.column }}), {{ top_n }}) as den_top__{{ c.column }},
        {%- endif %}
        {%- endfor %}
    from contributions
    group by all
),

aggregated as (
    {% call union_by_breakdowns('fine', breakdowns, ['period', 'scope']) -%}
        {%- for c in cells %}
        sum(num_sum__{{ c.column }}) as num_sum__{{ c.column }},
        sum(den_sum__{{ c.column }}) as den_sum__{{ c.column }},
        cast(sum(n__{{ c.column }}) as bigint) as n__{{ c.column }},
        {%- if c.dominance %}
        sum(num_magnitude__{{ c.column }}) as num_magnitude__{{ c.column }},
        sum(den_magnitude__{{ c.column }}) as den_magnitude__{{ c.column }},
        {{ sum_of_largest('num_top__' ~ c.column, top_n) }} as num_top__{{ c.column }},
        {{ sum_of_largest('den_top__' ~ c.column, top_n) }} as den_top__{{ c.column }},
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
