{#- Every code a reader of the marts sees, with its Chinese and English name, so that a BI tool labels a chart
    江苏省 (Jiangsu) rather than 32. One row per code list × code: the breakdowns' members (code_list = the
    breakdown), the statistics after '|' in a member (code_list 'statistic'), the status codes, sources,
    scopes and the breakdowns themselves. From the reference code lists (provinces, industry sections, sex,
    skill levels) and the seed fixed_code_labels for the lists fixed in the models (age groups, ownership, size
    classes …). -#}
{#- From seeds alone: only a change of the project changes it, and that makes the build full; incremental
    builds leave it as the last full build made it (tag project_only, wfm.build.dbt). -#}
{{ config(tags=['project_only']) }}

with

provinces as (
    select 'province' as code_list, code, name_zh, name_en, row_number() over (order by code) as sort_order
    from {{ ref('provinces') }}
    where in_mainland
),

sections as (
    select
        'industry_section' as code_list,
        section as code,
        name_zh,
        name_en,
        row_number() over (order by section) as sort_order,
    from {{ ref('industry_sections') }}
),

listed as (
    -- the canonical codes only (code = value): the aliases accepted in the input are not published codes
    select
        list_name as code_list,
        code,
        label_zh as name_zh,
        label_en as name_en,
        row_number() over (partition by list_name order by code) as sort_order,
    from {{ ref('code_lists') }}
    where list_name in ('sex', 'skill_level') and code = value
),

fixed as (
    select code_list, code, name_zh, name_en, sort_order from {{ ref('fixed_code_labels') }}
),

members as (
    select * from provinces
    union all
    select * from sections
    union all
    select * from listed
    union all
    select * from fixed
),

unioned as (
    select * from members
    union all
    -- SKL01's statistics are the skill levels (member CN|L3): the same names
    select 'statistic', code, name_zh, name_en, 10 + sort_order from members where code_list = 'skill_level'
),

final as (
    select
        cast(code_list as varchar) as code_list,
        cast(code as varchar) as code,
        cast(name_zh as varchar) as name_zh,
        cast(name_en as varchar) as name_en,
        name_zh || ' (' || name_en || ')' as label,
        cast(sort_order as integer) as sort_order,
    from unioned
)

select * from final
