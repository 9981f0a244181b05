{#- Enterprise cells with their primary confidentiality status (threshold, dominance): conf_status C or F.
    Secondary suppression over the whole linked system follows in int_enterprise__suppression. Cells whose
    denominator sums to 0 have no value and are not published. -#}
{#- A view: int_enterprise__suppression alone reads it, and every build recomputes every period's statuses,
    so a stored copy would only add a write. It must not hold the vintage (dbt writes it into a view's SQL). -#}
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

final as (
    select
        defined.*,
        {{ primary_conf_status() }} as conf_status,
    from defined
    cross join rules
)

select * from final
