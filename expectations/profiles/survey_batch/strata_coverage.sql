-- One row per stratum of the design, for each wave in the batch: is the stratum in the wave once this batch is
-- promoted? The design is the configured stratum list when one is set, else the strata of the latest earlier
-- wave of the same frequency. A first wave without a configured list has no rows here (nothing to compare;
-- `waves.unchecked` records it as a warning).
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

design as (
  select b.survey_wave, s.stratum
  from batch_waves as b, unnest(coalesce($design_strata::varchar[], []::varchar[])) as s(stratum)
  union
  select p.survey_wave, r.stratum
  from previous as p
  join {raw} as r on r.survey_wave = p.previous_wave
  where $design_strata is null
),

present as (
  select distinct survey_wave, stratum from {batch}
  union
  select distinct survey_wave, stratum from {raw}
  where survey_wave in (select survey_wave from batch_waves) and batch_id <> $batch_id
),

final as (
  select
    'wave ' || d.survey_wave || ' stratum ' || d.stratum as label,
    d.survey_wave,
    d.stratum,
    p.stratum is not null as present,
  from design as d
  left join present as p using (survey_wave, stratum)
)

select * from final
