-- One row per province (first two digits of region_code) that reported in the latest earlier period of the same
-- frequency, for each period in the batch: does it report in the period once this batch is promoted?
with batch_periods as (
  select distinct report_period from {batch}
),

previous as (
  select
    b.report_period,
    max(r.report_period) as previous_period,
  from batch_periods as b
  join (select distinct report_period from {raw} where batch_id <> $batch_id) as r
    on length(r.report_period) = length(b.report_period) and r.report_period < b.report_period
  group by b.report_period
),

expected as (
  select distinct p.report_period, left(r.region_code, 2) as province
  from previous as p
  join {raw} as r on r.report_period = p.previous_period
  where r.region_code is not null
),

reporting as (
  select distinct report_period, left(region_code, 2) as province from {batch}
  union
  select distinct report_period, left(region_code, 2) as province from {raw}
  where report_period in (select report_period from batch_periods) and batch_id <> $batch_id
),

final as (
  select
    'period ' || e.report_period || ' province ' || e.province as label,
    e.report_period,
    e.province,
    r.province is not null as present,
  from expected as e
  left join reporting as r using (report_period, province)
)

select * from final
