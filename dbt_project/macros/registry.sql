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
