{#- t(0.975, df) for the 95 % interval. DuckDB has no t quantile function: df 1..1000 come from the seed
    t_quantiles (scipy.stats.t.ppf, about 1e-15 relative precision); above 1000 the Cornish–Fisher expansion
    to 1/df^4 around z = 1.959963984540054 is used, whose error there is below 1e-15. df < 1 has no interval. -#}
{% macro t_975(df) -%}
    case
        when {{ df }} < 1 then null
        when {{ df }} <= 1000 then (
            select tq.t_975 from {{ ref('t_quantiles') }} as tq where tq.df = {{ df }}
        )
        else {{ _t_975_expansion(df) }}
    end
{%- endmacro %}

{% macro _t_975_expansion(df) -%}
    {%- set z = 1.959963984540054 -%}
    (
        {{ z }}
        + ({{ z ** 3 + z }}) / (4.0 * {{ df }})
        + ({{ 5 * z ** 5 + 16 * z ** 3 + 3 * z }}) / (96.0 * pow({{ df }}, 2))
        + ({{ 3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z }}) / (384.0 * pow({{ df }}, 3))
        + ({{ 79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z }}) / (92160.0 * pow({{ df }}, 4))
    )
{%- endmacro %}
