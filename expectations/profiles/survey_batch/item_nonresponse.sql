-- One row per question: the share of eligible respondents in the batch who left it empty.
-- Every stored column is a question except the design and bookkeeping columns, and the answers where empty is a
-- valid answer (skill_level, craftsman_title: none). Routed questions count only the respondents asked:
-- occupational_injury_protection is asked of platform workers (employment_form 3); employer_uscc is empty
-- for workers without an employer, so only employees (employment_form 1, 2) are counted for it.
with shares as (
  select
    avg((columns(* exclude (
      batch_id, row_number, loaded_at, extra_columns,
      survey_wave, respondent_id, person_key, stratum, psu, design_weight,
      skill_level, craftsman_title,
      employer_uscc, occupational_injury_protection
    )) is null)::double),
    avg((employer_uscc is null)::double) filter (where employment_form in (1, 2)) as employer_uscc,
    avg((occupational_injury_protection is null)::double) filter (where employment_form = 3)
      as occupational_injury_protection,
  from {batch}
),

-- a question nobody was asked (no platform workers in the batch) has a null share and no row
per_question as (
  unpivot shares on columns(*) into name question value nonresponse_share
),

final as (
  select
    'question ' || question as label,
    question,
    nonresponse_share,
  from per_question
)

select * from final
