-- One row per stratum of each wave in the batch, with its number of distinct PSUs once this batch is promoted
-- (rows of the same wave delivered earlier included: the variance sees the whole wave).
with wave_rows as (
  select survey_wave, stratum, psu from {batch}
  union all
  select survey_wave, stratum, psu from {raw}
  where survey_wave in (select survey_wave from {batch}) and batch_id <> $batch_id
),

final as (
  select
    'wave ' || coalesce(survey_wave, '(missing)') || ' stratum ' || coalesce(stratum, '(missing)') as label,
    survey_wave,
    stratum,
    count(distinct psu) as psu_count,
    count(*) as respondents,
  from wave_rows
  group by survey_wave, stratum
)

select * from final
