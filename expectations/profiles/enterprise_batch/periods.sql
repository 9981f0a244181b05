-- One row per report period in the batch: totals over the current returns (latest submitted_at per enterprise)
-- once this batch is promoted, against the same totals of the latest earlier period of the same frequency in
-- raw (annual with annual: a quarter's payroll is not comparable with a year's). Without an earlier period the
-- ratios stay null and `unchecked` says so.
with batch_periods as (
  select distinct report_period from {batch}
),

period_returns as (
  select uscc, report_period, submitted_at, employees_total, payroll_total from {batch}
  union all
  select uscc, report_period, submitted_at, employees_total, payroll_total from {raw}
  where report_period in (select report_period from batch_periods) and batch_id <> $batch_id
),

previous as (
  select
    b.report_period,
    max(r.report_period) as previous_period,
  from batch_periods as b
  left join (select distinct report_period from {raw} where batch_id <> $batch_id) as r
    on length(r.report_period) = length(b.report_period) and r.report_period < b.report_period
  group by b.report_period
),

previous_returns as (
  select uscc, report_period, submitted_at, employees_total, payroll_total from {raw}
  where report_period in (select previous_period from previous) and batch_id <> $batch_id
),

current_returns as (
  select * from period_returns
  qualify row_number() over (partition by uscc, report_period order by submitted_at desc) = 1
  union all
  select * from previous_returns
  qualify row_number() over (partition by uscc, report_period order by submitted_at desc) = 1
),

totals as (
  select
    report_period,
    count(*) as enterprises,
    sum(employees_total) as employees_total,
    sum(payroll_total) as payroll_total,
  from current_returns
  group by report_period
),

final as (
  select
    'period ' || coalesce(p.report_period, '(missing)') as label,
    p.report_period,
    p.previous_period,
    t.enterprises,
    t.employees_total,
    t.payroll_total,
    earlier.enterprises as previous_enterprises,
    earlier.employees_total as previous_employees_total,
    earlier.payroll_total as previous_payroll_total,
    t.employees_total / nullif(earlier.employees_total, 0) as employees_ratio,
    t.payroll_total / nullif(earlier.payroll_total, 0) as payroll_ratio,
    case when p.previous_period is null then 'employees_total, payroll_total, provinces' end as unchecked,
  from previous as p
  left join totals as t on t.report_period = p.report_period
  left join totals as earlier on earlier.report_period = p.previous_period
)

select * from final
