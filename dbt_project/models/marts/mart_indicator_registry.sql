{#- The published registry (interface.md): one row per indicator, with the target and threshold in force
    at the build's vintage (seed indicator_targets). Published under the name indicator_registry; the node
    has another name because the seed it publishes is called indicator_registry. -#}
{{ config(alias='indicator_registry') }}

with

registry as (
    select * from {{ ref('indicator_registry') }}
),

targets as (
    select * from {{ ref('indicator_targets') }}
    where cast({{ vintage() }} as date) between valid_from and coalesce(valid_to, date '9999-12-31')
),

target_values as (
    select
        indicator_code,
        max(value) filter (where kind = 'target') as target_value,
        string_agg(
            case when kind = 'threshold' then comparison || ' ' || value || ' ' || unit end, '; '
        ) as threshold,
    from targets
    group by indicator_code
),

final as (
    select
        registry.indicator_code,
        registry.name_zh,
        registry.name_en,
        registry.clause,
        registry.source,
        registry.formula,
        registry.unit,
        cast(target_values.target_value as double) as target_value,
        target_values.threshold,
        registry.theme,
        registry.scale,
        registry.notes,
    from registry
    left join target_values using (indicator_code)
)

select * from final
