{#- The indicator registry drives the engine: models read its rows at run time and generate one expression
    per indicator and statistic, so adding an indicator is adding a seed row. -#}

{#- Registry rows of one source ('W' or 'E') whose kind is in `kinds`, as dicts. Empty while parsing. -#}
{% macro registry_rows(source, kinds=none) %}
    {%- set registry = ref('indicator_registry') -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set kind_column = 'w_kind' if source == 'W' else 'e_kind' -%}
    {%- set query -%}
        select * from {{ registry }}
        where {{ kind_column }} is not null
        {%- if kinds %} and {{ kind_column }} in ('{{ kinds | join("', '") }}'){% endif %}
        order by indicator_code
    {%- endset -%}
    {%- set result = run_query(query) -%}
    {%- set rows = [] -%}
    {%- for row in result.rows -%}
        {%- do rows.append(dict(zip(result.column_names, row))) -%}
    {%- endfor -%}
    {{ return(rows) }}
{% endmacro %}

{#- Every registry row (both sources), optionally only one dashboard theme's, as dicts. Empty while parsing. -#}
{% macro registry_all(theme=none) %}
    {%- set registry = ref('indicator_registry') -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select * from {{ registry }}
        {%- if theme %} where theme = '{{ theme }}'{% endif %}
        order by indicator_code
    {%- endset -%}
    {%- set result = run_query(query) -%}
    {%- set rows = [] -%}
    {%- for row in result.rows -%}
        {%- do rows.append(dict(zip(result.column_names, row))) -%}
    {%- endfor -%}
    {{ return(rows) }}
{% endmacro %}

{#- The statistics an indicator publishes per cell ('' when the cell holds one value). -#}
{% macro registry_statistics(value) %}
    {{ return((value or '').split(';') | map('trim') | list) }}
{% endmacro %}

{#- An expression from the registry with its placeholders filled: {s} the statistic, {s_lower} the same in
    lower case, {threshold} the indicator's threshold column for the row's period. -#}
{% macro registry_expr(expr, statistic, indicator_code) %}
    {%- set filled = (expr | string)
        | replace('{s}', statistic)
        | replace('{s_lower}', statistic | lower)
        | replace('{threshold}', 'threshold_' ~ (indicator_code | lower)) -%}
    {{ return(filled) }}
{% endmacro %}

{#- One column per registry indicator: its threshold valid at the end of the period (null without one). -#}
{% macro threshold_columns(indicators) %}
    {%- for ind in indicators %}
        max(value) filter (
            where indicator_code = '{{ ind.indicator_code }}' and kind = 'threshold'
        ) as threshold_{{ ind.indicator_code | lower }},
    {%- endfor %}
{% endmacro %}

{#- The survey ratio cells of the registry: one entry per indicator × statistic, with the y/x expressions
    filled and the column suffix the wide observation table uses. `unit_x`: x is the constant 1 (a mean or a
    proportion of the domain), so a respondent's x is 1 exactly when its y counts, and the observations carry
    no x column for the cell (see int_survey__observations). -#}
{% macro survey_ratio_cells() %}
    {%- set cells = [] -%}
    {%- for ind in registry_rows('W', kinds=['ratio']) -%}
        {%- for s in registry_statistics(ind.w_statistics) -%}
            {%- set x = registry_expr(ind.w_x_expr, s, ind.indicator_code) -%}
            {%- do cells.append({
                'code': ind.indicator_code,
                'statistic': s,
                'column': cell_column(ind.indicator_code, s),
                'y': registry_expr(ind.w_y_expr, s, ind.indicator_code),
                'x': x,
                'unit_x': (x | trim) == '1',
                'domain': ind.w_domain_expr or 'true',
            }) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(cells) }}
{% endmacro %}

{#- The enterprise cells of the registry: each indicator × statistic, plus compliance and compliance_emp
    where a threshold exists, with numerator, denominator, domain, kind and whether dominance applies. -#}
{% macro enterprise_cells() %}
    {%- set cells = [] -%}
    {%- for ind in registry_rows('E', kinds=['ratio', 'share_of_enterprises', 'count']) -%}
        {%- set code = ind.indicator_code -%}
        {%- set domain = ind.e_domain_expr or 'true' -%}
        {%- for s in registry_statistics(ind.e_statistics) -%}
            {%- do cells.append({
                'code': code, 'statistic': s, 'column': cell_column(code, s), 'kind': ind.e_kind,
                'num': registry_expr(ind.e_num_expr, s, code),
                'den': registry_expr(ind.e_den_expr, s, code) if ind.e_den_expr else none,
                'domain': domain, 'dominance': ind.e_dominance, 'compliance': false,
            }) -%}
        {%- endfor -%}
        {%- if ind.e_compliance_expr -%}
            {%- set meets = registry_expr(ind.e_compliance_expr, '', code) -%}
            {%- set base = '(' ~ domain ~ ') and (' ~ registry_expr(ind.e_compliance_base_expr or 'true', '', code) ~ ')' -%}
            {%- do cells.append({
                'code': code, 'statistic': 'compliance', 'column': cell_column(code, 'compliance'), 'kind': 'ratio',
                'num': 'case when ' ~ meets ~ ' then 1 when not (' ~ meets ~ ') then 0 end', 'den': '1',
                'domain': base, 'dominance': false, 'compliance': true,
            }) -%}
            {%- do cells.append({
                'code': code, 'statistic': 'compliance_emp', 'column': cell_column(code, 'compliance_emp'),
                'kind': 'ratio',
                'num': 'case when ' ~ meets ~ ' then employees_total when not (' ~ meets ~ ') then 0 end',
                'den': 'employees_total', 'domain': base, 'dominance': true, 'compliance': false,
            }) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(cells) }}
{% endmacro %}

{#- Column suffix of a cell in the wide tables: trn01, skl01__l3, edu01__compliance. -#}
{% macro cell_column(code, statistic) -%}
    {{ return((code ~ ('__' ~ statistic if statistic else '')) | lower) }}
{%- endmacro %}

{#- One row (indicator_code, statistic) per statistic of each survey quantile indicator (registry w_statistics). -#}
{% macro quantile_statistics() %}
    {%- for ind in registry_rows('W', kinds=['quantile']) %}
    {%- for s in registry_statistics(ind.w_statistics) %}
    select '{{ ind.indicator_code }}' as indicator_code, '{{ s }}' as statistic
    union all
    {%- endfor %}
    {%- endfor %}
    select null as indicator_code, null as statistic where false
{% endmacro %}
