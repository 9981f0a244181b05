-- One row per required column of the contract (source W): how many rows of the batch leave it empty.
-- Ingestion quarantines such rows; this is the second line of defence before promotion.
with nulls as (
  select
    count(*) - count(survey_wave) as survey_wave,
    count(*) - count(respondent_id) as respondent_id,
    count(*) - count(stratum) as stratum,
    count(*) - count(psu) as psu,
    count(*) - count(design_weight) as design_weight,
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
