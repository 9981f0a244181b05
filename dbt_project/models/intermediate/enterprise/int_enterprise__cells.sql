{#- Σ numerator and Σ denominator per cell (indicator × statistic × breakdown member) in one pass
    (GROUPING SETS), with what the disclosure rules need: the number of enterprises and the sum of the
    `dominance_n` largest contributions to each magnitude. -#}
{%- set breakdowns = enterprise_breakdowns() -%}
{%- set keys = ['period', 'scope', 'indicator_code', 'statistic', 'kind', 'dominance'] -%}
{%- set top_n = publication_rule_constant('dominance_n', 2) -%}

with

contributions as (
    select * from {{ ref('int_enterprise__contributions') }}
),

aggregated as (
    select
        period,
        scope,
        indicator_code,
        statistic,
        kind,
        dominance,
        {{ breakdown_name(breakdowns) }} as breakdown,
        {{ breakdown_member(breakdowns) }} as member,
        sum(num) as num_sum,
        sum(den) as den_sum,
        count(*) as n_enterprises,
        sum(abs(num)) as num_magnitude,
        sum(abs(den)) as den_magnitude,
        list_sum(max(abs(num), {{ top_n }})) as num_top,
        list_sum(max(abs(den), {{ top_n }})) as den_top,
    from contributions
    group by {{ breakdown_grouping_sets(breakdowns, keys) }}
),

final as (
    select * from aggregated
    where member is not null
)

select * from final
