-- One row per distinct value of each coded answer in the batch (one grouping set per column: a single pass; in
-- each row only the column of its set is filled). `answer` spells it `column=value` for the code-list check;
-- age, a range rather than a list, keeps its own column. Empty answers are the item non-response profile's concern.
with distinct_answers as (
  select
    concat_ws(' ',
      'sex=' || sex, 'hukou_type=' || hukou_type, 'education=' || education,
      'employment_form=' || employment_form, 'contract_type=' || contract_type,
      'skill_level=' || skill_level, 'craftsman_title=' || craftsman_title,
      'sense_achievement=' || sense_achievement, 'sense_gain=' || sense_gain,
      'sense_happiness=' || sense_happiness
    ) as answer,
    age,
    count(*) as respondents,
  from {batch}
  group by grouping sets (
    (sex), (hukou_type), (education), (employment_form), (contract_type), (skill_level), (craftsman_title),
    (sense_achievement), (sense_gain), (sense_happiness), (age)
  )
),

final as (
  select
    coalesce(nullif(answer, ''), 'age=' || age) as label,
    nullif(answer, '') as answer,
    age,
    respondents,
  from distinct_answers
  where answer <> '' or age is not null
)

select * from final
