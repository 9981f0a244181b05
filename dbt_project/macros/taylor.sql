{#- Taylor-linearised variance of a ratio R = Y / X under a stratified design with PSUs drawn with
    replacement (statistics.md), from PSU totals.

    `psu_totals` has the cell `keys`, `stratum`, `psu`, `y_total` = Σ w·y and `x_total` = Σ w·x over the PSU's
    rows in the cell, and `n_respondents`; only PSUs with rows in the cell need to be present. `strata` has
    `period`, `stratum` and `n_psu`: the PSUs of the stratum in the whole wave (the domain convention:
    a PSU without rows in the cell has z_hi = 0 but still counts).

    z_hi = (Y_hi − R·X_hi) / X (the PSU sum of z_k = w_k (y_k − R x_k) / X);
    v = Σ_h n_h / (n_h − 1) Σ_i (z_hi − z̄_h)², z̄_h = Σ_i z_hi / n_h, over all n_h PSUs, the absent ones with
    z = 0: per stratum that is Σ z_hi² − (Σ z_hi)² / n_h, sums over the present PSUs alone, so one pass over
    the PSU scores serves (as in taylor_ratio_wide; z is formed from the cell's R first, so no large moments
    cancel). A stratum with one PSU contributes 0 and is counted in `singleton_strata`.

    The cell's design degrees of freedom (statistics.md, R's degf() of the subset design): the PSUs with a
    respondent in the cell (`domain_psus`, n_respondents > 0) minus the strata those PSUs belong to
    (`domain_strata`).

    Returns one row per cell: keys, y_sum, x_sum, ratio, variance, n_respondents, singleton_strata,
    domain_psus, domain_strata, df. -#}
{% macro taylor_ratio(psu_totals, strata, keys) %}
    {%- set key_list = keys | join(', ') -%}
    (
        with

        cells as (
            select
                {{ key_list }},
                sum(y_total) as y_sum,
                sum(x_total) as x_sum,
                sum(n_respondents) as n_respondents,
            from {{ psu_totals }}
            group by {{ key_list }}
        ),

        psu_scores as (
            select
                {{ key_list }},
                stratum,
                (y_total - cells.y_sum / cells.x_sum * x_total) / cells.x_sum as z,
                {{ psu_totals }}.n_respondents > 0 as has_respondents,
            from {{ psu_totals }}
            inner join cells using ({{ key_list }})
            where cells.x_sum <> 0
        ),

        stratum_sums as (
            select
                {{ key_list }},
                stratum,
                sum(z) as z_sum,
                sum(z * z) as zz_sum,
                count(*) filter (where has_respondents) as domain_psus,
            from psu_scores
            group by {{ key_list }}, stratum
        ),

        stratum_variance as (
            select
                {{ key_list }},
                t.stratum,
                s.n_psu = 1 as is_singleton,
                t.domain_psus,
                case
                    when s.n_psu > 1 then s.n_psu / (s.n_psu - 1.0) * greatest(t.zz_sum - t.z_sum * t.z_sum / s.n_psu, 0)
                    else 0
                end as v_h,
            from stratum_sums as t
            inner join {{ strata }} as s using (period, stratum)
        ),

        cell_variance as (
            select
                {{ key_list }},
                sum(v_h) as variance,
                count(*) filter (where is_singleton) as singleton_strata,
                sum(domain_psus) as domain_psus,
                count(*) filter (where domain_psus > 0) as domain_strata,
            from stratum_variance
            group by {{ key_list }}
        )

        select
            {{ key_list }},
            cells.y_sum,
            cells.x_sum,
            cells.y_sum / cells.x_sum as ratio,
            cell_variance.variance,
            cells.n_respondents,
            cell_variance.singleton_strata,
            cell_variance.domain_psus,
            cell_variance.domain_strata,
            cell_variance.domain_psus - cell_variance.domain_strata as df,
        from cells
        inner join cell_variance using ({{ key_list }})
        where cells.x_sum <> 0
    )
{% endmacro %}

{#- The same variance for many cells at once, from wide PSU totals: `psu_totals` has the `keys`, `stratum`,
    `psu` and, for every cell c of `cells` (dicts with `code`, `statistic`, `column`), the columns
    y__<c> = Σ w·y, x__<c> = Σ w·x and n__<c> = respondents over the PSU's rows in the cell (null when the
    PSU has none). One pass per step serves every cell; the result is long, one row per keys × cell, with the
    columns of taylor_ratio (indicator_code, statistic, y_sum, x_sum, ratio, variance, n_respondents,
    singleton_strata, domain_psus, domain_strata, df); a PSU has a respondent in the cell when n__<c> > 0.

    Per stratum Σ_i (z_hi − z̄_h)² over all n_h PSUs (absent ones with z = 0) equals Σ z_hi² − (Σ z_hi)² / n_h,
    so each stratum needs only the sum and the sum of squares of the present PSUs' z. z itself is formed
    from the cell's R first (two passes), not by expanding y and x, so no large moments cancel. -#}
{% macro taylor_ratio_wide(psu_totals, strata, keys, cells) %}
    {%- set key_list = keys | join(', ') -%}
    (
        with

        cell_totals as (
            select
                {{ key_list }},
                {%- for c in cells %}
                sum(y__{{ c.column }}) as ys__{{ c.column }},
                sum(x__{{ c.column }}) as xs__{{ c.column }},
                sum(n__{{ c.column }}) as ns__{{ c.column }},
                {%- endfor %}
            from {{ psu_totals }}
            group by {{ key_list }}
        ),

        psu_scores as (
            select
                {{ key_list }},
                p.stratum,
                {%- for c in cells %}
                (p.y__{{ c.column }} - t.ys__{{ c.column }} / t.xs__{{ c.column }} * p.x__{{ c.column }})
                    / t.xs__{{ c.column }} as z__{{ c.column }},
                p.x__{{ c.column }} <> 0 or p.y__{{ c.column }} <> 0 as present__{{ c.column }},
                p.n__{{ c.column }} > 0 as responding__{{ c.column }},
                {%- endfor %}
            from {{ psu_totals }} as p
            inner join cell_totals as t using ({{ key_list }})
        ),

        stratum_sums as (
            select
                {{ key_list }},
                stratum,
                {%- for c in cells %}
                sum(z__{{ c.column }}) as zs__{{ c.column }},
                sum(z__{{ c.column }} * z__{{ c.column }}) as zz__{{ c.column }},
                bool_or(present__{{ c.column }}) as present__{{ c.column }},
                count(*) filter (where responding__{{ c.column }}) as psus__{{ c.column }},
                {%- endfor %}
            from psu_scores
            group by {{ key_list }}, stratum
        ),

        cell_variance as (
            select
                {{ key_list }},
                {%- for c in cells %}
                sum(
                    case
                        when s.n_psu > 1 then s.n_psu / (s.n_psu - 1.0) * greatest(
                            zz__{{ c.column }} - zs__{{ c.column }} * zs__{{ c.column }} / s.n_psu, 0
                        )
                        else 0
                    end
                ) filter (where present__{{ c.column }}) as v__{{ c.column }},
                count(*) filter (where present__{{ c.column }} and s.n_psu = 1) as singletons__{{ c.column }},
                sum(psus__{{ c.column }}) as dpsus__{{ c.column }},
                count(*) filter (where psus__{{ c.column }} > 0) as dstrata__{{ c.column }},
                {%- endfor %}
            from stratum_sums
            inner join {{ strata }} as s using (period, stratum)
            group by {{ key_list }}
        ),

        cells as (
            select
                {{ key_list }},
                unnest([
                {%- for c in cells %}
                    {
                        'indicator_code': '{{ c.code }}',
                        'statistic': '{{ c.statistic }}',
                        'y_sum': ys__{{ c.column }},
                        'x_sum': xs__{{ c.column }},
                        'variance': v__{{ c.column }},
                        'n_respondents': ns__{{ c.column }},
                        'singleton_strata': singletons__{{ c.column }},
                        'domain_psus': dpsus__{{ c.column }},
                        'domain_strata': dstrata__{{ c.column }},
                    },
                {%- endfor %}
                ], recursive := true),
            from cell_totals
            inner join cell_variance using ({{ key_list }})
        )

        select
            {{ key_list }},
            indicator_code,
            statistic,
            y_sum,
            x_sum,
            y_sum / x_sum as ratio,
            variance,
            n_respondents,
            singleton_strata,
            domain_psus,
            domain_strata,
            domain_psus - domain_strata as df,
        from cells
        where x_sum is not null and x_sum <> 0
    )
{% endmacro %}
