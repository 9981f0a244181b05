{#- Weighted quantiles q_p = inf{ t : F(t) ≥ p }, F(t) = Σ w·1(y ≤ t) / Σ w (statistics.md). -#}

{#- The weighted distribution function of `value` per cell of `keys`: one row per distinct value with F at
    it. F of the largest value is set to exactly 1 so that rounding in the running sum cannot leave
    q_1 undefined. -#}
{% macro weighted_cdf(relation, keys, value='y', weight='design_weight') %}
    {%- set key_list = keys | join(', ') -%}
    (
        with

        distinct_values as (
            select {{ key_list }}, {{ value }} as y, sum({{ weight }}) as w
            from {{ relation }}
            group by {{ key_list }}, {{ value }}
        ),

        accumulated as (
            select
                {{ key_list }},
                y,
                sum(w) over (partition by {{ key_list }} order by y rows unbounded preceding) as cumulative_weight,
                sum(w) over (partition by {{ key_list }}) as total_weight,
                max(y) over (partition by {{ key_list }}) as max_y,
            from distinct_values
        )

        select
            {{ key_list }},
            y,
            case when y = max_y then 1.0 else cumulative_weight / total_weight end as cdf,
        from accumulated
    )
{% endmacro %}

{#- For each row of `probabilities` (cell `keys` and a probability column `prob`), the quantile read from
    `cdf` (weighted_cdf): the smallest value whose F reaches the probability, as `quantile`. -#}
{% macro weighted_quantile(probabilities, cdf, keys, prob='p') %}
    (
        select
            probabilities.*,
            cdf.y as quantile,
        from {{ probabilities }} as probabilities
        asof left join {{ cdf }} as cdf
            on {% for k in keys %}probabilities.{{ k }} = cdf.{{ k }} and {% endfor %}probabilities.{{ prob }} <= cdf.cdf
    )
{% endmacro %}

{#- A statistic label 'P10' … 'P90' as a probability. -#}
{% macro quantile_probability(statistic) -%}
    cast(substr({{ statistic }}, 2) as double) / 100
{%- endmacro %}
