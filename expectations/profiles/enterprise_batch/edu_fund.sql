-- One row for the batch: the share of returns whose education spend on frontline workers exceeds the whole
-- education spend (a part larger than its total).
with final as (
  select
    'batch' as label,
    count(*) as returns,
    count(*) filter (where edu_fund_frontline > edu_fund_used) as frontline_above_used,
    coalesce(count(*) filter (where edu_fund_frontline > edu_fund_used) / nullif(count(*), 0), 0)
      as frontline_above_used_share,
  from {batch}
)

select * from final
