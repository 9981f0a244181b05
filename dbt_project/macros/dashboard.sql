{#- Dashboard marts: one wide view per theme (registry column `theme`), one row per period × scope ×
    breakdown member, one column per indicator × statistic × source, named <code>[_<statistic>]_<source>
    in lower case (trn01_w, skl01_l3_e, edu01_compliance_e, wag01_p50_w). Suppressed cells are null.
    Views over indicator_values (a few thousand rows): always as current as it, so an incremental build leaves
    them alone like the other views; publishing writes them as tables into the readers' snapshot. -#}

{#- The (indicator, source, statistic) columns of a theme, in registry order. -#}
{% macro theme_columns(theme) %}
    {%- set columns = [] -%}
    {%- for ind in registry_all(theme) -%}
        {%- if ind.w_kind -%}
            {%- for s in registry_statistics(ind.w_statistics if ind.w_kind != 'premium' else '') -%}
                {%- do columns.append({'code': ind.indicator_code, 'source': 'W', 'statistic': s}) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- if ind.e_kind -%}
            {%- set stats = registry_statistics(ind.e_statistics) -%}
            {%- if ind.e_compliance_expr -%}{%- set stats = stats + ['compliance', 'compliance_emp'] -%}{%- endif -%}
            {%- if ind.e_kind == 'count' -%}{%- set stats = stats + ['progress'] -%}{%- endif -%}
            {%- for s in stats -%}
                {%- do columns.append({'code': ind.indicator_code, 'source': 'E', 'statistic': s}) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(columns) }}
{% endmacro %}

{% macro theme_mart(theme) %}
    {%- set columns = theme_columns(theme) -%}
    with

    published as (
        select * from {{ ref('indicator_values') }}
    ),

    cells as (
        select
            period,
            scope,
            breakdown,
            split_part(member, '|', 1) as member,
            split_part(member, '|', 2) as statistic,
            indicator_code,
            source,
            value,
        from published
        where indicator_code in (
            select indicator_code from {{ ref('indicator_registry') }} where theme = '{{ theme }}'
        )
    ),

    final as (
        select
            period,
            scope,
            breakdown,
            member,
            {%- for c in columns %}
            max(value) filter (
                where indicator_code = '{{ c.code }}' and source = '{{ c.source }}' and statistic = '{{ c.statistic }}'
            ) as {{ (c.code ~ ('_' ~ c.statistic if c.statistic else '') ~ '_' ~ c.source) | lower }},
            {%- endfor %}
        from cells
        group by period, scope, breakdown, member
    )

    select * from final
{% endmacro %}
