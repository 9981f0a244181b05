with

source as (
    select * from {{ source('enterprise', 'enterprise_returns') }}
),

divisions as (
    select * from {{ ref('industry_divisions') }}
),

size_classes as (
    select * from {{ ref('size_classes') }}
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

{#- 统计上大中小微型企业划分办法(2017): the largest class whose every condition the return meets. The
    seed's thresholds side by side per section (classes in rank order, largest first), so each return joins
    once: a subquery per return made DuckDB materialise every period's returns before a model's period
    filter could apply. -#}
{%- set sizes = ['large', 'medium', 'small', 'micro'] %}
size_thresholds as (
    select
        industry_section,
        {%- for size in sizes %}
        any_value(min_employees) filter (where size_class = '{{ size }}') as {{ size }}_employees,
        any_value(min_revenue) filter (where size_class = '{{ size }}') as {{ size }}_revenue,
        {%- endfor %}
    from size_classes
    group by industry_section
),

sized as (
    select
        scoped.*,
        case
            {%- for size in sizes %}
            when scoped.employees_total >= size_thresholds.{{ size }}_employees
                and scoped.revenue >= size_thresholds.{{ size }}_revenue then '{{ size }}'
            {%- endfor %}
        end as size_class,
    from scoped
    left join size_thresholds
        on scoped.industry_section = size_thresholds.industry_section
),

final as (
    select * from sized
)

select * from final
