-- Secondary suppression is complete: in no enterprise breakdown (other than national) of a period,
-- indicator and statistic is exactly one member suppressed while others are published.
select
    period,
    scope,
    indicator_code,
    split_part(member, '|', 2) as statistic,
    breakdown,
    count(*) filter (where conf_status <> 'F') as suppressed,
    count(*) as members,
from {{ ref('indicator_values') }}
where source = 'E' and breakdown <> 'national'
group by all
having count(*) filter (where conf_status <> 'F') = 1 and count(*) > 1
