{#- Breakdown dimensions (docs/indicator-definitions.md): name → the expression giving the member, over the
    staging columns (for enterprises, the current returns: the staging columns and the size class).
    `national` has the single member 'CN'; a row whose member expression is null belongs to no member. -#}

{% macro survey_breakdowns() %}
    {{ return([
        {'name': 'national', 'expr': "'CN'"},
        {'name': 'province', 'expr': 'province'},
        {'name': 'sex', 'expr': 'cast(sex as varchar)'},
        {'name': 'age_group', 'expr': 'age_group'},
        {'name': 'migrant', 'expr': 'cast(migrant as varchar)'},
        {'name': 'skill_level', 'expr': 'skill_member'},
        {'name': 'industry_section', 'expr': 'case when industry_in_scope then industry_section end'},
    ]) }}
{% endmacro %}

{% macro enterprise_breakdowns() %}
    {{ return([
        {'name': 'national', 'expr': "'CN'"},
        {'name': 'province', 'expr': 'province'},
        {'name': 'industry_section', 'expr': 'case when industry_in_scope then industry_section end'},
        {'name': 'ownership', 'expr': 'ownership'},
        {'name': 'size_class', 'expr': 'size_class'},
    ]) }}
{% endmacro %}

{#- Columns bd_<name> holding each non-national breakdown's member, for a long table to carry. -#}
{% macro breakdown_columns(breakdowns) %}
    {%- for b in breakdowns if b.name != 'national' %}
        {{ b.expr }} as bd_{{ b.name }},
    {%- endfor %}
{% endmacro %}

{#- One aggregate query per breakdown over `relation`, stacked with UNION ALL: the `keys`, then `breakdown`
    and `member`, then the aggregates given as the call block's body. Rows whose member is null belong to no
    member of that breakdown. Equivalent to GROUPING SETS, and easier to read: no grouping() decoding of
    which set a row came from. -#}
{% macro union_by_breakdowns(relation, breakdowns, keys) %}
    {%- set aggregates = caller() -%}
    {%- for b in breakdowns %}
    select
        {{ keys | join(', ') }},
        '{{ b.name }}' as breakdown,
        {{ "'CN'" if b.name == 'national' else 'bd_' ~ b.name }} as member,
        {{ aggregates }}
    from {{ relation }}
    {%- if b.name != 'national' %}
    where bd_{{ b.name }} is not null
    {%- endif %}
    group by {{ keys | join(', ') }}{% if b.name != 'national' %}, bd_{{ b.name }}{% endif %}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{% endmacro %}

{#- The published member: the breakdown member, then '|statistic' when the cell holds several. -#}
{% macro member_with_statistic(member, statistic) -%}
    case when {{ statistic }} = '' then {{ member }} else {{ member }} || '|' || {{ statistic }} end
{%- endmacro %}

{#- The code list of every survey breakdown, as a query of (breakdown, member): every member gets a row in
    every period, with n = 0 and a suppression status where the sample has nobody in it. From the reference
    seeds (mainland provinces, sex, skill levels and NONE, the sections with industrial divisions) and the
    fixed groupings of the staging macros (age_group, migrant 0/1). -#}
{% macro survey_breakdown_members() %}
    select 'national' as breakdown, 'CN' as member
    union all
    select 'province', code from {{ ref('provinces') }} where in_mainland
    union all
    select 'sex', code from {{ ref('code_lists') }} where list_name = 'sex'
    union all
    select 'age_group', unnest(['16-24', '25-35', '36-45', '46-55', '56+'])
    union all
    select 'migrant', unnest(['0', '1'])
    union all
    select distinct 'skill_level', value from {{ ref('code_lists') }} where list_name = 'skill_level'
    union all
    select 'skill_level', 'NONE'
    union all
    select distinct 'industry_section', section from {{ ref('industry_divisions') }} where industrial_scope
{% endmacro %}

{#- The axes of the survey cells, as three CTEs: `waves` (the periods of the design), `members` (every
    breakdown's code list, survey_breakdown_members) and `scopes` (the project's scopes); a model crosses them
    into the grid of cells that each get a row, respondents or not. -#}
{% macro survey_cell_axes() %}
waves as (
    select distinct period from {{ ref('int_survey__design') }}
),

members as (
    {{ survey_breakdown_members() }}
),

scopes as (
    select unnest([{% for scope in var('scopes') %}'{{ scope.name }}'{% if not loop.last %}, {% endif %}{% endfor %}]) as scope
)
{%- endmacro %}
