-- One row per wave in the batch. A wave may arrive in several files, so every figure is for the wave as the
-- warehouse will hold it once this batch is promoted (this batch plus the wave's rows already in raw).
--
-- The weight total is compared stratum for stratum with the latest earlier wave of the same frequency in raw
-- (annual with annual, quarterly with quarterly): only strata present in both count, so a wave delivered in
-- parts is compared part for part. A configured population total takes the previous wave's place once the wave
-- is complete (or when there is no design to judge completeness by). The wave is complete when it covers every
-- stratum of its design: the configured stratum list, else the previous wave's strata.
-- `unchecked` names the wave-level checks that had to wait (no reference, or the wave still incomplete).
with batch_waves as (
  select
    survey_wave,
    count(*) as batch_rows,
    min(design_weight) as min_weight,
  from {batch}
  group by survey_wave
),

previous as (
  select
    b.survey_wave,
    max(r.survey_wave) as previous_wave,
  from batch_waves as b
  left join (select distinct survey_wave from {raw} where batch_id <> $batch_id) as r
    on length(r.survey_wave) = length(b.survey_wave) and r.survey_wave < b.survey_wave
  group by b.survey_wave
),

wave_strata as (
  select
    survey_wave,
    stratum,
    sum(design_weight) as weight_sum,
  from (
    select survey_wave, stratum, design_weight from {batch}
    union all
    select survey_wave, stratum, design_weight from {raw}
    where survey_wave in (select survey_wave from batch_waves) and batch_id <> $batch_id
  )
  group by survey_wave, stratum
),

previous_strata as (
  select
    p.survey_wave,
    r.stratum,
    sum(r.design_weight) as weight_sum,
  from previous as p
  join {raw} as r on r.survey_wave = p.previous_wave
  group by p.survey_wave, r.stratum
),

design as (
  select b.survey_wave, s.stratum
  from batch_waves as b, unnest(coalesce($design_strata::varchar[], []::varchar[])) as s(stratum)
  union
  select survey_wave, stratum from previous_strata where $design_strata is null
),

coverage as (
  select
    d.survey_wave,
    count(*) as design_strata,
    count(w.stratum) as covered_strata,
  from design as d
  left join wave_strata as w using (survey_wave, stratum)
  group by d.survey_wave
),

matched as (
  select
    w.survey_wave,
    count(*) as matched_strata,
    sum(w.weight_sum) as weight_sum,
    sum(p.weight_sum) as previous_weight_sum,
  from wave_strata as w
  join previous_strata as p using (survey_wave, stratum)
  group by w.survey_wave
),

compared as (
  select
    b.survey_wave,
    b.batch_rows,
    b.min_weight,
    (select sum(weight_sum) from wave_strata as w where w.survey_wave = b.survey_wave) as weight_sum,
    p.previous_wave,
    coalesce(c.design_strata, 0) as design_strata,
    coalesce(c.covered_strata, 0) as covered_strata,
    coalesce(m.matched_strata, 0) as matched_strata,
    m.weight_sum as matched_weight_sum,
    m.previous_weight_sum as matched_previous_weight_sum,
    try_cast($population_totals::json ->> b.survey_wave as double) as population_total,
  from batch_waves as b
  join previous as p using (survey_wave)
  left join coverage as c using (survey_wave)
  left join matched as m using (survey_wave)
),

judged as (
  select
    *,
    design_strata > 0 and covered_strata = design_strata as wave_complete,
    population_total is not null and (design_strata = 0 or covered_strata = design_strata) as against_total,
  from compared
),

final as (
  select
    'wave ' || coalesce(survey_wave, '(missing)') as label,
    survey_wave,
    batch_rows,
    min_weight,
    weight_sum,
    previous_wave,
    population_total,
    design_strata,
    covered_strata,
    wave_complete,
    case
      when against_total then weight_sum / population_total
      when matched_previous_weight_sum > 0 then matched_weight_sum / matched_previous_weight_sum
    end as weight_ratio,
    case
      when against_total then 'population total'
      when matched_previous_weight_sum > 0 then 'wave ' || previous_wave || ', ' || matched_strata || ' strata matched'
    end as weight_reference,
    nullif(concat_ws('; ',
      case
        when not against_total and coalesce(matched_previous_weight_sum, 0) = 0 then 'weight_sum: nothing to compare with'
      end,
      case
        when design_strata = 0 then 'strata: no design or earlier wave to check them against'
        when not wave_complete then 'psus_per_stratum, strata: wave incomplete, ' || covered_strata || ' of '
          || design_strata || ' strata so far'
      end
    ), '') as unchecked,
  from judged
)

select * from final
