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

{#- The point quantiles of every quantile cell, as a subquery over the cells' `cdf` (weighted_cdf): one row
    per cell of `keys` and statistic of the registry (P10 … P90) with its probability p and the quantile q_p
    (weighted_quantile). -#}
{% macro quantile_points(cdf, keys) %}
    (
        with

        registry_statistics as (
            {{ quantile_statistics() }}
        ),

        probabilities as (
            select
                {{ keys | join(', ') }},
                registry_statistics.statistic,
                {{ quantile_probability('registry_statistics.statistic') }} as p,
            from (select distinct {{ keys | join(', ') }} from {{ cdf }}) as cells
            inner join registry_statistics using (indicator_code)
        )

        select * from {{ weighted_quantile('probabilities', cdf, keys) }}
    )
{% endmacro %}

{#- For Woodruff's method, the PSU totals of every quantile cell and statistic, as a subquery over
    `observations` (one row per respondent × cell of `keys` with `y`, `design_weight`, `stratum`, `psu`) and
    the cells' `points` (quantile_points): for each PSU with rows in the cell, y_total = Σ w·1(y ≤ q_p),
    x_total = Σ w and n_respondents. Each respondent joins its cell once, with the cell's quantiles side by
    side. -#}
{% macro quantile_psu_totals(observations, points, keys) %}
    {%- set all_statistics = [] -%}
    {%- for ind in registry_rows('W', kinds=['quantile']) -%}
        {%- for s in registry_statistics(ind.w_statistics) if s not in all_statistics -%}
            {%- do all_statistics.append(s) -%}
        {%- endfor -%}
    {%- endfor -%}
    (
        with

        points_by_cell as (
            select
                {{ keys | join(', ') }},
                {%- for s in all_statistics %}
                any_value(quantile) filter (where statistic = '{{ s }}') as q__{{ s | lower }},
                {%- endfor %}
            from {{ points }}
            group by {{ keys | join(', ') }}
        ),

        psu_sums as (
            select
                {{ keys | join(', ') }},
                o.stratum,
                o.psu,
                {%- for s in all_statistics %}
                sum(o.design_weight * cast(o.y <= points_by_cell.q__{{ s | lower }} as integer)) as y__{{ s | lower }},
                {%- endfor %}
                sum(o.design_weight) as x_total,
                count(*) as n_respondents,
            from {{ observations }} as o
            inner join points_by_cell using ({{ keys | join(', ') }})
            group by {{ keys | join(', ') }}, o.stratum, o.psu
        )

        select
            {{ keys | join(', ') }},
            points.statistic,
            psu_sums.stratum,
            psu_sums.psu,
            case points.statistic
                {%- for s in all_statistics %}
                when '{{ s }}' then psu_sums.y__{{ s | lower }}
                {%- endfor %}
            end as y_total,
            psu_sums.x_total,
            psu_sums.n_respondents,
        from psu_sums
        inner join {{ points }} as points using ({{ keys | join(', ') }})
    )
{% endmacro %}
