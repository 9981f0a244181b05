-- Secondary suppression leaves no suppressed enterprise cell to subtraction from its breakdown: in no
-- enterprise breakdown (other than national) of a period, indicator and statistic is exactly one member
-- suppressed while the others and the national total are published. (A necessary condition only: the audit
-- before publication, wfm.disclosure, checks every protection level over the whole linked system.)
with

values_published as (
    select *, split_part(member, '|', 2) as statistic
    from {{ ref('indicator_values') }}
    where source = 'E'
),

national as (
    select period, scope, indicator_code, statistic, conf_status as national_status
    from values_published
    where breakdown = 'national'
)

select
    values_published.period,
    values_published.scope,
    values_published.indicator_code,
    values_published.statistic,
    values_published.breakdown,
    count(*) filter (where values_published.conf_status <> 'F') as suppressed,
    count(*) as members,
from values_published
inner join national using (period, scope, indicator_code, statistic)
where values_published.breakdown <> 'national' and national.national_status = 'F'
group by all
having count(*) filter (where values_published.conf_status <> 'F') = 1 and count(*) > 1
