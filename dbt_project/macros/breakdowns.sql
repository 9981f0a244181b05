{#- Breakdown dimensions (docs/indicator-definitions.md): name → the staging expression giving the member.
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

{#- GROUPING SETS over the bd_ columns: one set per breakdown, each with the `keys` in front. -#}
{% macro breakdown_grouping_sets(breakdowns, keys) %}
    grouping sets (
    {%- for b in breakdowns %}
        ({{ keys | join(', ') }}{% if b.name != 'national' %}, bd_{{ b.name }}{% endif %}){% if not loop.last %},{% endif %}
    {%- endfor %}
    )
{% endmacro %}

{#- Which grouping set a row of the aggregate came from, and its member. -#}
{% macro breakdown_name(breakdowns) %}
    case
    {%- for b in breakdowns if b.name != 'national' %}
        when grouping(bd_{{ b.name }}) = 0 then '{{ b.name }}'
    {%- endfor %}
        else 'national'
    end
{% endmacro %}

{% macro breakdown_member(breakdowns) %}
    case
    {%- for b in breakdowns if b.name != 'national' %}
        when grouping(bd_{{ b.name }}) = 0 then bd_{{ b.name }}
    {%- endfor %}
        else 'CN'
    end
{% endmacro %}

{#- The published member: the breakdown member, then '|statistic' when the cell holds several. -#}
{% macro member_with_statistic(member, statistic) -%}
    case when {{ statistic }} = '' then {{ member }} else {{ member }} || '|' || {{ statistic }} end
{%- endmacro %}
