-- One row per report period in the batch: how many (uscc, report_period, submitted_at) keys occur more than
-- once among the batch and the returns already in raw. Two returns with the same submission time leave the
-- current return undecided.
with period_returns as (
  select uscc, report_period, submitted_at from {batch}
  union all
  select uscc, report_period, submitted_at from {raw}
  where report_period in (select report_period from {batch}) and batch_id <> $batch_id
),

repeated as (
  select
    report_period,
    count(*) as copies,
  from period_returns
  group by uscc, report_period, submitted_at
  having count(*) > 1
),

final as (
  select
    'period ' || coalesce(p.report_period, '(missing)') as label,
    p.report_period,
    count(r.copies) as duplicate_keys,
    coalesce(sum(r.copies), 0) as returns_with_duplicate_key,
  from (select distinct report_period from {batch}) as p
  left join repeated as r using (report_period)
  group by p.report_period
)

select * from final
