-- Proportions (registry w_proportion for W; compliance rates and shares of enterprises for E) and their
-- intervals lie in [0, 100].
with

published as (
    select * from {{ ref('indicator_values') }}
),

registry as (
    select * from {{ ref('indicator_registry') }}
),

proportions as (
    select published.*
    from published
    inner join registry using (indicator_code)
    where (published.source = 'W' and registry.w_proportion)
        or (published.source = 'E' and registry.e_kind = 'share_of_enterprises')
        or (published.source = 'E' and split_part(published.member, '|', 2) in ('compliance', 'compliance_emp'))
)

select *
from proportions
where value < 0 or value > 100 or ci_lower < 0 or ci_upper > 100
