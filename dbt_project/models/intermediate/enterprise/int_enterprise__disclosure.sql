{#- Enterprise cells with their confidentiality status: primary (threshold, dominance), then secondary
    suppression within each non-national breakdown. Cells whose denominator sums to 0 have no value and
    are not published. -#}
{#- A view: int_enterprise__estimates alone reads it, and every build recomputes every period's statuses, so
    a stored copy would only add a write. It must not hold the vintage (dbt writes it into a view's SQL). -#}
{{ config(materialized='view') }}

with

cells as (
    select * from {{ ref('int_enterprise__cells') }}
),

rules as (
    {{ publication_rules() }}
),

defined as (
    select * from cells
    where kind = 'count' or den_sum <> 0
),

primary_suppressed as (
    select
        defined.*,
        {{ primary_conf_status() }} as conf_status,
    from defined
    cross join rules
),

secondary_suppressed as (
    select * from {{ secondary_suppression(
        'primary_suppressed',
        ['period', 'scope', 'indicator_code', 'statistic', 'breakdown']
    ) }}
),

final as (
    select * from secondary_suppressed
)

select * from final
