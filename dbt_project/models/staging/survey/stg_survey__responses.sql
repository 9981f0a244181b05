with

source as (
    select * from {{ source('survey', 'survey_responses') }}
),

divisions as (
    select * from {{ ref('industry_divisions') }}
),

renamed as (
    select
        survey_wave as period,
        respondent_id,
        person_key,
        stratum,
        psu,
        design_weight,
        region_code,
        {{ province_of('region_code') }} as province,
        employer_uscc,
        industry_code,
        {{ industry_division('industry_code') }} as industry_division,
        {{ industry_letter('industry_code') }} as industry_letter,
        occupation_code,
        sex,
        age,
        {{ age_group('age') }} as age_group,
        hukou_type,
        case when hukou_type = 1 then 1 when hukou_type is not null then 0 end as migrant,
        education,
        skill_level,
        coalesce(skill_level, 'NONE') as skill_member,
        craftsman_title,
        employment_form,
        contract_type,
        monthly_wage,
        weekly_hours,
        overtime_hours_month,
        trained_12m,
        training_hours_12m,
        continuing_education,
        certificate,
        union_member,
        party_member,
        social_insurance_injury,
        occupational_injury_protection,
        competition_12m,
        innovation_12m,
        wage_arrears_12m,
        sense_achievement,
        sense_gain,
        sense_happiness,
        batch_id,
        row_number as source_row_number,
        loaded_at,
    from source
),

sectioned as (
    select
        renamed.*,
        coalesce(renamed.industry_letter, divisions.section) as industry_section,
        coalesce(sections.in_scope, false) as industry_in_scope,
    from renamed
    left join divisions
        on renamed.industry_division = divisions.division
    left join (
        select section, bool_or(industrial_scope) as in_scope from divisions group by section
    ) as sections
        on coalesce(renamed.industry_letter, divisions.section) = sections.section
),

final as (
    select
        * exclude (industry_letter),
        industry_in_scope or coalesce(employment_form = 3, false) as in_scope_industrial,
    from sectioned
)

select * from final
