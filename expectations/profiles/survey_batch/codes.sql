-- One row per distinct value of each coded answer in the batch (one grouping set per column, so a single pass;
-- in each row only the column of its set is filled). Empty answers are the item non-response profile's concern.
with final as (
  select
    concat_ws(' ',
      'sex=' || sex, 'hukou_type=' || hukou_type, 'education=' || education,
      'employment_form=' || employment_form, 'contract_type=' || contract_type,
      'skill_level=' || skill_level, 'craftsman_title=' || craftsman_title, 'age=' || age,
      'sense_achievement=' || sense_achievement, 'sense_gain=' || sense_gain,
      'sense_happiness=' || sense_happiness
    ) as label,
    sex,
    hukou_type,
    education,
    employment_form,
    contract_type,
    skill_level,
    craftsman_title,
    age,
    sense_achievement,
    sense_gain,
    sense_happiness,
    count(*) as respondents,
  from {batch}
  group by grouping sets (
    (sex), (hukou_type), (education), (employment_form), (contract_type), (skill_level), (craftsman_title),
    (age), (sense_achievement), (sense_gain), (sense_happiness)
  )
)

select * from final
