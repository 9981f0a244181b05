{#- Targets and legal thresholds over time (interface.md): for every indicator with a target or threshold in
    force in the period (int_targets_by_period) in its own unit — targets of every indicator but the counts
    with a dated path (target_trajectories), thresholds of the enterprise compliance indicators, where the
    threshold applies to the same ratio as the value — per period and source: the national value against it,
    the number and share of provinces whose published value meets it, and the share of enterprises meeting
    it (the national `|compliance` cell). Only published values count: a suppressed province is left out
    of both numbers, so nothing about it can be read from them. Survey values are compared as estimated. -#}
with

cells as (
    select * from {{ ref('int_indicator_values') }}
    where scope = 'industrial'
),

registry as (
    select * from {{ ref('indicator_registry') }}
),

paths as (
    select distinct indicator_code from {{ ref('target_paths') }}
),

rules as (
    select period_targets.*
    from {{ ref('int_targets_by_period') }} as period_targets
    inner join registry using (indicator_code)
    where period_targets.unit = registry.unit
        and period_targets.kind in ('target', 'threshold')
        and period_targets.indicator_code not in (select indicator_code from paths)
        and (period_targets.kind = 'target' or registry.e_compliance_expr is not null)
),

national as (
    select indicator_code, period, source, value, conf_status, obs_status, vintage
    from cells
    where breakdown = 'national' and member = 'CN'
),

provinces as (
    select indicator_code, period, source, member, value
    from cells
    where breakdown = 'province' and member not like '%|%' and value is not null
),

enterprises as (
    select indicator_code, period, value as enterprises_meeting
    from cells
    where source = 'E' and breakdown = 'national' and member = 'CN|compliance'
),

province_counts as (
    select
        rules.indicator_code,
        rules.period,
        rules.kind,
        provinces.source,
        count(*) as provinces_published,
        count(*) filter (where {{ meets('provinces.value', 'rules.comparison', 'rules.value') }}) as provinces_meeting,
    from rules
    inner join provinces
        on provinces.indicator_code = rules.indicator_code and provinces.period = rules.period
    group by all
),

final as (
    select
        national.indicator_code,
        national.period,
        national.source,
        rules.kind,
        rules.comparison,
        rules.value as target_value,
        rules.unit,
        national.value,
        {{ meets('national.value', 'rules.comparison', 'rules.value') }} as meets,
        national.value - rules.value as distance,
        province_counts.provinces_published,
        province_counts.provinces_meeting,
        100.0 * province_counts.provinces_meeting / nullif(province_counts.provinces_published, 0)
            as provinces_meeting_share,
        case when rules.kind = 'threshold' then enterprises.enterprises_meeting end as enterprises_meeting_share,
        national.obs_status,
        national.conf_status,
        national.vintage,
    from national
    inner join rules
        on rules.indicator_code = national.indicator_code
        and rules.period = national.period
        and (rules.kind = 'target' or national.source = 'E')
    left join province_counts
        on province_counts.indicator_code = national.indicator_code
        and province_counts.period = national.period
        and province_counts.source = national.source
        and province_counts.kind = rules.kind
    left join enterprises
        on enterprises.indicator_code = national.indicator_code
        and enterprises.period = national.period
        and national.source = 'E'
)

select * from final
