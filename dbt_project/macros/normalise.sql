{#- Code derivations shared by the two staging models. -#}

{#- Two-digit GB/T 4754-2017 division of an industry code given as 'C3411', '3411' or '34'. -#}
{% macro industry_division(column) -%}
    nullif(left(regexp_replace({{ column }}, '^[A-Za-z]+', ''), 2), '')
{%- endmacro %}

{#- The section letter written in front of the code, if any. -#}
{% macro industry_letter(column) -%}
    nullif(upper(regexp_extract({{ column }}, '^([A-Za-z])', 1)), '')
{%- endmacro %}

{#- First two digits of a GB/T 2260 region code. -#}
{% macro province_of(column) -%}
    nullif(left({{ column }}, 2), '')
{%- endmacro %}

{#- Age groups of indicators.md; ages below 16 belong to no group. -#}
{% macro age_group(column) -%}
    case
        when {{ column }} between 16 and 24 then '16-24'
        when {{ column }} between 25 and 35 then '25-35'
        when {{ column }} between 36 and 45 then '36-45'
        when {{ column }} between 46 and 55 then '46-55'
        when {{ column }} >= 56 then '56+'
    end
{%- endmacro %}

{#- Last day of a period written 'YYYY' or 'YYYYQn'. -#}
{% macro period_end(column) -%}
    case
        when length({{ column }}) = 4
            then make_date(cast({{ column }} as integer), 12, 31)
        else last_day(make_date(
            cast(left({{ column }}, 4) as integer),
            cast(right({{ column }}, 1) as integer) * 3,
            1
        ))
    end
{%- endmacro %}

{#- Calendar year of a period, for targets measured against a year. -#}
{% macro period_year(column) -%}
    cast(left({{ column }}, 4) as integer)
{%- endmacro %}
