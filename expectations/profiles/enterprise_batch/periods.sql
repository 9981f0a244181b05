-- One row per report period in the batch. A period may arrive in several files, so the figures are for the period
-- as the warehouse will hold it once this batch is promoted: the current return (latest submitted_at) of every
-- enterprise, from this batch or already in raw.
--
-- Employees and payroll are compared with the latest earlier period of the same frequency in raw (annual with
-- annual: a quarter's payroll is not a year's), over the enterprises that reported in both periods: a period
-- delivered in parts is compared part for part, and enterprises joining or leaving do not move the ratio. What
-- the ratio catches is a change in what the same enterprises report (a unit slip between 元 and 万元, a column
-- shifted). Without an earlier period the ratios stay null and `unchecked` says so.
with batch_periods as (
  select distinct report_period from {batch}
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

period_returns as (
  select uscc, report_period, submitted_at, employees_total, payroll_total from {batch}
  union all
  select uscc, report_period, submitted_at, employees_total, payroll_total from {raw}
  where report_period in (select report_period from batch_periods) and batch_id <> $batch_id
),

current_returns as (
  select * from period_returns
  qualify row_number() over (partition by uscc, report_period order by submitted_at desc) = 1
),

previous_returns as (
  select p.report_period, r.uscc, r.employees_total, r.payroll_total
  from previous as p
  join {raw} as r on r.report_period = p.previous_period and r.batch_id <> $batch_id
  qualify row_number() over (partition by r.uscc, p.report_period order by r.submitted_at desc) = 1
),

matched as (
  select
    c.report_period,
    count(*) as matched_enterprises,
    sum(c.employees_total) as employees_total,
    sum(p.employees_total) as previous_employees_total,
    sum(c.payroll_total) as payroll_total,
    sum(p.payroll_total) as previous_payroll_total,
  from current_returns as c
  join previous_returns as p using (report_period, uscc)
  group by c.report_period
),

final as (
  select
    'period ' || coalesce(p.report_period, '(missing)') as label,
    p.report_period,
    p.previous_period,
    (select count(*) from current_returns as c where c.report_period = p.report_period) as enterprises,
    coalesce(m.matched_enterprises, 0) as matched_enterprises,
    m.employees_total / nullif(m.previous_employees_total, 0) as employees_ratio,
    m.payroll_total / nullif(m.previous_payroll_total, 0) as payroll_ratio,
    case
      when p.previous_period is null then 'totals, provinces: no earlier period of the same frequency'
      when m.matched_enterprises is null then 'totals: no enterprise reported in both periods'
    end as unchecked,
  from previous as p
  left join matched as m using (report_period)
)

select * from final
