-- One row per stratum of each wave in the batch: every stratum in the wave so far (this batch plus the wave's rows
-- already in raw) and every stratum of its design (the configured stratum list, else the strata of the latest
-- earlier wave of the same frequency), with its number of distinct PSUs so far.
-- `wave_complete`: the wave so far covers its whole design. Until then a stratum may still be waiting for its
-- other PSUs in a later file, so the two-PSU rule only blocks a complete wave (and warns before).
with batch_waves as (
  select distinct survey_wave from {batch}
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
    count(distinct psu) as psu_count,
  from (
    select survey_wave, stratum, psu from {batch}
    union all
    select survey_wave, stratum, psu from {raw}
    where survey_wave in (select survey_wave from batch_waves) and batch_id <> $batch_id
  )
  group by survey_wave, stratum
),

design as (
  select b.survey_wave, s.stratum
  from batch_waves as b, unnest(coalesce($design_strata::varchar[], []::varchar[])) as s(stratum)
  union
  select distinct p.survey_wave, r.stratum
  from previous as p
  join {raw} as r on r.survey_wave = p.previous_wave
  where $design_strata is null
),

strata as (
  select
    coalesce(w.survey_wave, d.survey_wave) as survey_wave,
    coalesce(w.stratum, d.stratum) as stratum,
    w.psu_count,
    w.stratum is not null as present,
    d.stratum is not null as in_design,
  from wave_strata as w
  full join design as d on d.survey_wave = w.survey_wave and d.stratum = w.stratum
),

final as (
  select
    'wave ' || coalesce(survey_wave, '(missing)') || ' stratum ' || coalesce(stratum, '(missing)') as label,
    survey_wave,
    stratum,
    psu_count,
    present,
    in_design,
    count(*) filter (where in_design) over (partition by survey_wave) > 0
      and count(*) filter (where in_design and not present) over (partition by survey_wave) = 0 as wave_complete,
  from strata
)

select * from final
