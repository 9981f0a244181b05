{#- Which enterprise misses which legal threshold, per period (current returns in scope): for the labour
    inspectorate and the unions, never published (schema internal, meta published: false). -#}
{{ config(schema='internal', tags=['internal', 'enterprise'], meta={'published': false}) }}
{{ incremental_by_period() }}
{%- set cells = enterprise_cells() -%}

with

contributions as (
    select * from {{ ref('int_enterprise__contributions') }}
    where {{ period_filter('enterprise') }}
),

returns as (
    select * from {{ ref('int_enterprise__current_returns') }}
    where {{ period_filter('enterprise') }}
),

registry as (
    select * from {{ ref('indicator_registry') }}
),

period_targets as (
    select * from {{ ref('int_targets_by_period') }}
),

checks as (
    select
        period,
        scope,
        uscc,
        unnest([
        {%- for c in cells if c.compliance %}
            {
                'indicator_code': '{{ c.code }}',
                'meets': num__{{ c.column }},
                'num': num__{{ c.code | lower }},
                'den': den__{{ c.code | lower }},
            },
        {%- endfor %}
        ], recursive := true),
    from contributions
),

misses as (
    select * from checks
    where meets = 0
),

final as (
    select
        misses.period,
        misses.scope,
        misses.uscc,
        returns.enterprise_name,
        returns.province,
        returns.region_code,
        returns.industry_section,
        returns.size_class,
        returns.ownership,
        misses.indicator_code,
        registry.name_zh as indicator_name_zh,
        registry.scale * misses.num / nullif(misses.den, 0) as enterprise_value,
        registry.unit,
        thresholds.comparison || ' ' || thresholds.value as threshold,
        misses.num as numerator,
        misses.den as denominator,
        returns.employees_total,
        returns.submitted_at,
    from misses
    inner join returns using (period, uscc)
    inner join registry using (indicator_code)
    left join period_targets as thresholds
        on misses.period = thresholds.period
        and misses.indicator_code = thresholds.indicator_code
        and thresholds.kind = 'threshold'
)

select * from final
