{#- Enterprise values in their published form: Σ num / Σ den × scale (or Σ num × scale for counts), the
    craftsmen `progress` statistic (count / target × 100, same confidentiality as the count) and TAL04.
    A census has no sampling error: se, interval and CV are null. -#}
{%- set on_track = registry_rows('E', kinds=['on_track']) -%}

with

cells as (
    select * from {{ ref('int_enterprise__suppression') }}
),

registry as (
    select * from {{ ref('indicator_registry') }}
),

period_targets as (
    select * from {{ ref('int_targets_by_period') }}
),

rules as (
    {{ publication_rules() }}
),

valued as (
    select
        cells.*,
        registry.scale * case
            when cells.kind = 'count' then cells.num_sum
            else cells.num_sum / cells.den_sum
        end as value,
    from cells
    inner join registry using (indicator_code)
    where registry.e_breakdowns is null
        or list_contains(string_split(registry.e_breakdowns, ';'), cells.breakdown)
),

progress as (
    select
        valued.* exclude (statistic, value, kind, den_sum),
        'progress' as statistic,
        'ratio' as kind,
        period_targets.value as den_sum,
        valued.num_sum / period_targets.value * 100 as value,
    from valued
    inner join period_targets
        on valued.period = period_targets.period
        and valued.indicator_code = period_targets.indicator_code
        and period_targets.kind = 'target'
    where valued.kind = 'count' and valued.statistic = ''
),

{#- TAL04: progress − path(year), path = base + (100 − base) × (year − base year) / (target year − base year). -#}
on_track as (
    {%- for ind in on_track %}
    {%- set sources = ind.e_of.split(';') %}
    {%- set labels = ind.e_statistics.split(';') %}
    {%- for of_code in sources %}
    select
        progress.* exclude (indicator_code, statistic, value, num_sum, den_sum),
        '{{ ind.indicator_code }}' as indicator_code,
        cast(null as double) as num_sum,
        cast(null as double) as den_sum,
        '{{ labels[loop.index0] }}' as statistic,
        progress.value - (
            base.value + (100 - base.value)
            * ({{ period_year('progress.period') }} - base.target_year)
            / (target.target_year - base.target_year)
        ) as value,
    from progress
    inner join period_targets as base
        on progress.period = base.period and base.indicator_code = '{{ of_code }}' and base.kind = 'base'
    inner join period_targets as target
        on progress.period = target.period and target.indicator_code = '{{ of_code }}' and target.kind = 'target'
    where progress.indicator_code = '{{ of_code }}' and progress.breakdown = 'national'
    union all by name
    {%- endfor %}
    {%- endfor %}
    select
        * exclude (indicator_code, statistic, value, num_sum, den_sum),
        '' as indicator_code,
        '' as statistic,
        cast(null as double) as num_sum,
        cast(null as double) as den_sum,
        cast(null as double) as value,
    from progress
    where false
),

combined as (
    select * from valued
    union all by name
    select * from progress
    union all by name
    select * from on_track
),

final as (
    select
        combined.indicator_code,
        combined.period,
        combined.scope,
        'E' as source,
        combined.breakdown,
        {{ member_with_statistic('combined.member', 'combined.statistic') }} as member,
        combined.statistic,
        case when combined.conf_status = 'F' then combined.value end as value,
        case when combined.conf_status = 'F' then combined.num_sum end as numerator,
        case when combined.conf_status = 'F' then combined.den_sum end as denominator,
        combined.n_enterprises as n_unweighted,
        cast(null as double) as se,
        cast(null as double) as ci_lower,
        cast(null as double) as ci_upper,
        cast(null as double) as cv,
        {{ enterprise_obs_status('combined.period') }} as obs_status,
        combined.conf_status,
        cast(null as integer) as df,
        cast(null as varchar) as quality_note,
    from combined
    cross join rules
)

select * from final
