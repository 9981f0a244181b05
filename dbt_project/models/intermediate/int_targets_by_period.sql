{#- Targets and thresholds valid at the end of each period that has data: compliance rules and progress
    use the value in force for the period, not today's. The periods come straight from the sources (the
    staging views' period is the same column renamed): through the views, DuckDB would evaluate their joins
    over every row for a list of a few periods, most of this model's time in an incremental build. -#}
with

survey as (
    select survey_wave as period from {{ source('survey', 'survey_responses') }}
),

returns as (
    select report_period as period from {{ source('enterprise', 'enterprise_returns') }}
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
