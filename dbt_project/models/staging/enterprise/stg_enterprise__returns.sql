with

source as (
    select * from {{ source('enterprise', 'enterprise_returns') }}
),

divisions as (
    select * from {{ ref('industry_divisions') }}
),

renamed as (
    select
        report_period as period,
        uscc,
        enterprise_name,
        region_code,
        {{ province_of('region_code') }} as province,
        industry_code,
        {{ industry_division('industry_code') }} as industry_division,
        {{ industry_letter('industry_code') }} as industry_letter,
        registration_type,
        state_controlled,
        case when state_controlled then 'state' when not state_controlled then 'non_state' end as ownership,
        revenue,
        employees_total,
        employees_avg,
        frontline_workers,
        dispatched_workers,
        contract_signed,
        skill_l0,
        skill_l1,
        skill_l2,
        skill_l3,
        skill_l4,
        skill_l5,
        skill_l6,
        skill_l7,
        craftsmen_national,
        craftsmen_provincial,
        craftsmen_municipal,
        payroll_total,
        edu_fund_extracted,
        edu_fund_used,
        edu_fund_frontline,
        training_person_times,
        has_union,
        union_members,
        workers_congress_held,
        collective_contract,
        collective_contract_covered,
        employee_director,
        teams_total,
        teams_without_party_member,
        innovation_studios,
        adopted_suggestions,
        competition_participants,
        work_injuries,
        occupational_disease_cases,
        labor_disputes,
        hires,
        hires_under35,
        separations,
        migrant_workers,
        submitted_at,
        batch_id,
        row_number as source_row_number,
        loaded_at,
    from source
),

sectioned as (
    select
        renamed.* exclude (industry_letter),
        coalesce(renamed.industry_letter, divisions.section) as industry_section,
    from renamed
    left join divisions
        on renamed.industry_division = divisions.division
),

scoped as (
    select
        sectioned.*,
        coalesce(sections.in_scope, false) as industry_in_scope,
        coalesce(sections.in_scope, false) as in_scope_industrial,
    from sectioned
    left join (
        select section, bool_or(industrial_scope) as in_scope from divisions group by section
    ) as sections
        on sectioned.industry_section = sections.section
),

final as (
    select * from scoped
)

select * from final
