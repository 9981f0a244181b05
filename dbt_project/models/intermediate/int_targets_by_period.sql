{#- Targets and thresholds valid at the end of each period that has data: compliance rules and progress
    use the value in force for the period, not today's. -#}
with

survey as (
    select * from {{ ref('stg_survey__responses') }}
),

returns as (
    select * from {{ ref('stg_enterprise__returns') }}
),

targets as (
    select * from {{ ref('indicator_targets') }}
),

periods as (
    select distinct period from survey
    union
    select distinct period from returns
),

final as (
    select
        periods.period,
        targets.indicator_code,
        targets.kind,
        targets.comparison,
        targets.value,
        targets.unit,
        targets.target_year,
    from periods
    inner join targets
        on {{ period_end('periods.period') }} >= targets.valid_from
        and {{ period_end('periods.period') }} <= coalesce(targets.valid_to, date '9999-12-31')
)

select * from final
