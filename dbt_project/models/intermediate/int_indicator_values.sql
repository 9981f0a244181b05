{#- Every published cell of this build, both sources, stamped with the build's vintage. A suppressed cell
    (conf_status C or D) keeps its row and statuses; its value and everything a value could be derived
    from (numerator, denominator, se, interval, CV) are null. Survey ratio cells take their conf_status
    from int_survey__suppression (D: complementary suppression of a confidential cell). -#}
with

survey_suppression as (
    select * from {{ ref('int_survey__suppression') }}
),

survey_estimates as (
    select
        estimates.* exclude (conf_status),
        coalesce(survey_suppression.conf_status, estimates.conf_status) as conf_status,
    from {{ ref('int_survey__estimates') }} as estimates
    left join survey_suppression
        on estimates.period = survey_suppression.period
        and estimates.scope = survey_suppression.scope
        and estimates.indicator_code = survey_suppression.indicator_code
        and estimates.breakdown = survey_suppression.breakdown
        and estimates.member = survey_suppression.published_member
),

survey_quantiles as (
    select * from {{ ref('int_survey__quantile_estimates') }}
),

survey_premiums as (
    select * from {{ ref('int_survey__premium_estimates') }}
),

enterprise_estimates as (
    select * from {{ ref('int_enterprise__estimates') }}
),

combined as (
    select * from survey_estimates
    union all by name
    select * from survey_quantiles
    union all by name
    select * from survey_premiums
    union all by name
    select * from enterprise_estimates
),

final as (
    select
        indicator_code,
        period,
        scope,
        source,
        breakdown,
        member,
        case when conf_status = 'F' then value end as value,
        case when conf_status = 'F' then numerator end as numerator,
        case when conf_status = 'F' then denominator end as denominator,
        n_unweighted,
        case when conf_status = 'F' then se end as se,
        case when conf_status = 'F' then ci_lower end as ci_lower,
        case when conf_status = 'F' then ci_upper end as ci_upper,
        case when conf_status = 'F' then cv end as cv,
        obs_status,
        conf_status,
        {{ vintage() }} as vintage,
        df,
        quality_note,
    from combined
)

select * from final
