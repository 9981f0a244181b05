-- One row per wave in the batch: how many respondent_id values occur more than once in the wave once this batch
-- is promoted. Counts only: the identifiers themselves stay out of the audit trail.
with wave_rows as (
  select survey_wave, respondent_id from {batch}
  union all
  select survey_wave, respondent_id from {raw}
  where survey_wave in (select survey_wave from {batch}) and batch_id <> $batch_id
),

repeated as (
  select
    survey_wave,
    respondent_id,
    count(*) as copies,
  from wave_rows
  where respondent_id is not null
  group by survey_wave, respondent_id
  having count(*) > 1
),

final as (
  select
    'wave ' || coalesce(w.survey_wave, '(missing)') as label,
    w.survey_wave,
    count(r.respondent_id) as duplicated_ids,
    coalesce(sum(r.copies), 0) as rows_with_duplicated_id,
  from (select distinct survey_wave from {batch}) as w
  left join repeated as r using (survey_wave)
  group by w.survey_wave
)

select * from final
