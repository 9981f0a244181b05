-- One row per wave in the batch: the wave's weight total once this batch is promoted (rows of the same wave
-- delivered earlier count too: the band applies to what the estimates will use), and the total it is compared
-- with: a configured population total, else the latest earlier wave of the same frequency already in raw
-- (annual with annual, quarterly with quarterly). Without a reference the ratio stays null, so a first wave
-- passes the band, and `unchecked` names the comparisons that could not be made.
with batch_waves as (
  select
    survey_wave,
    count(*) as batch_rows,
    min(design_weight) as min_weight,
    sum(design_weight) as batch_weight_sum,
  from {batch}
  group by survey_wave
),

raw_waves as (
  select
    survey_wave,
    sum(design_weight) as weight_sum,
  from {raw}
  where batch_id <> $batch_id
  group by survey_wave
),

previous as (
  select
    b.survey_wave,
    max(r.survey_wave) as previous_wave,
  from batch_waves as b
  left join raw_waves as r
    on length(r.survey_wave) = length(b.survey_wave) and r.survey_wave < b.survey_wave
  group by b.survey_wave
),

compared as (
  select
    b.survey_wave,
    b.batch_rows,
    b.min_weight,
    b.batch_weight_sum + coalesce(same.weight_sum, 0) as weight_sum,
    p.previous_wave,
    earlier.weight_sum as previous_weight_sum,
    try_cast($population_totals::json ->> b.survey_wave as double) as population_total,
  from batch_waves as b
  join previous as p using (survey_wave)
  left join raw_waves as same on same.survey_wave = b.survey_wave
  left join raw_waves as earlier on earlier.survey_wave = p.previous_wave
),

final as (
  select
    'wave ' || coalesce(survey_wave, '(missing)') as label,
    survey_wave,
    batch_rows,
    min_weight,
    weight_sum,
    previous_wave,
    previous_weight_sum,
    population_total,
    coalesce(population_total, previous_weight_sum) as reference_weight_sum,
    weight_sum / nullif(coalesce(population_total, previous_weight_sum), 0) as weight_ratio,
    nullif(concat_ws(', ',
      case when population_total is null and previous_wave is null then 'weight_sum' end,
      case when $design_strata is null and previous_wave is null then 'strata_coverage' end
    ), '') as unchecked,
  from compared
)

select * from final
