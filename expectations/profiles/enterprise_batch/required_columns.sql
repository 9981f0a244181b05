-- One row per required column of the contract (source E): how many rows of the batch leave it empty.
-- Ingestion quarantines such rows; this is the second line of defence before promotion.
with nulls as (
  select
    count(*) - count(report_period) as report_period,
    count(*) - count(uscc) as uscc,
    count(*) - count(enterprise_name) as enterprise_name,
    count(*) - count(submitted_at) as submitted_at,
  from {batch}
),

final as (
  select
    'column ' || column_name as label,
    column_name,
    null_count,
  from (unpivot nulls on columns(*) into name column_name value null_count)
)

select * from final
