{#- Changes between periods (interface.md): every cell of indicator_values against the same cell of each
    earlier comparable period present — an annual period against the year before (previous_year), a quarter
    against the quarter before (previous_quarter) and the same quarter a year before (previous_year).
    The change is in the indicator's unit, in percentage points (pp) where the value is in %.
    A change carries figures only when both ends are published (value not null, conf_status F): it is then
    the difference of two published figures and tells nothing a reader could not compute, so it can never
    lead back to a suppressed cell. A pair with a suppressed end keeps its row, every figure null, the
    worse of the two statuses.
    Survey (W) changes: the waves are independent samples (statistical-method.md), so the variance of the
    difference is se₁² + se₂²; the interval is change ± t·se on the Welch–Satterthwaite df of the two cells
    (rounded down), and `significant` says whether it leaves out 0. An end with se 0 (a proportion at 0 or
    100 %) gives no interval. Enterprise (E) changes are exact: no se. -#}
with

cells as (
    select * from {{ ref('int_indicator_values') }}
),

registry as (
    select indicator_code, unit from {{ ref('indicator_registry') }}
),

periods as (
    select distinct period from cells
),

{#- periods are '2026' or '2026Q3' (the contract's formats) -#}
comparable as (
    select
        period,
        cast(cast(left(period, 4) as integer) - 1 as varchar) || substr(period, 5) as base_period,
        'previous_year' as comparison,
    from periods
    union all
    select
        period,
        case
            when right(period, 1) = '1' then cast(cast(left(period, 4) as integer) - 1 as varchar) || 'Q4'
            else left(period, 5) || cast(cast(right(period, 1) as integer) - 1 as varchar)
        end as base_period,
        'previous_quarter' as comparison,
    from periods
    where length(period) = 6
),

pairs as (
    select
        now_.indicator_code,
        now_.period,
        comparable.base_period,
        comparable.comparison,
        now_.scope,
        now_.source,
        now_.breakdown,
        now_.member,
        now_.conf_status = 'F' and base.conf_status = 'F'
            and now_.value is not null and base.value is not null as both_published,
        now_.value,
        base.value as base_value,
        now_.se,
        base.se as base_se,
        now_.df,
        base.df as base_df,
        case
            when now_.conf_status = 'C' or base.conf_status = 'C' then 'C'
            when now_.conf_status = 'D' or base.conf_status = 'D' then 'D'
            else 'F'
        end as conf_status,
        case
            when now_.obs_status = 'P' or base.obs_status = 'P' then 'P'
            when now_.obs_status = 'U' or base.obs_status = 'U' then 'U'
            else 'A'
        end as obs_status,
        now_.vintage,
    from cells as now_
    inner join comparable on now_.period = comparable.period
    inner join cells as base
        on base.period = comparable.base_period
        and base.indicator_code = now_.indicator_code
        and base.scope = now_.scope
        and base.source = now_.source
        and base.breakdown = now_.breakdown
        and base.member = now_.member
),

differences as (
    select
        pairs.*,
        case when both_published then value - base_value end as change,
        case
            when both_published and se > 0 and base_se > 0 then sqrt(se * se + base_se * base_se)
        end as change_se,
        case
            when both_published and se > 0 and base_se > 0 and df >= 1 and base_df >= 1
                then cast(floor(
                    pow(se * se + base_se * base_se, 2)
                    / (pow(se, 4) / df + pow(base_se, 4) / base_df)
                ) as integer)
        end as change_df,
    from pairs
),

intervals as (
    select
        differences.*,
        {{ t_975('change_df') }} as t_975,
    from differences
),

final as (
    select
        intervals.indicator_code,
        intervals.period,
        intervals.base_period,
        intervals.comparison,
        intervals.scope,
        intervals.source,
        intervals.breakdown,
        intervals.member,
        case when both_published then value end as value,
        case when both_published then base_value end as base_value,
        change,
        case
            when registry.unit = '%' or intervals.member like '%|progress' or intervals.member like '%|compliance%'
                then 'pp'
            else registry.unit
        end as change_unit,
        change_se as se,
        change - t_975 * change_se as ci_lower,
        change + t_975 * change_se as ci_upper,
        change_df as df,
        case when t_975 is not null then abs(change) > t_975 * change_se end as significant,
        obs_status,
        conf_status,
        vintage,
    from intervals
    left join registry using (indicator_code)
)

select * from final
