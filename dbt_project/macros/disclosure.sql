{#- Disclosure control for enterprise cells (statistics.md). `rules` is the publication_rules() row. -#}

{#- Primary suppression: threshold rule (fewer than threshold_min_enterprises enterprises) and, for cells
    whose amounts are magnitudes, the dominance rule (n, k) on numerator and on denominator: the n largest
    contributions above k % of the cell's total magnitude. -#}
{% macro primary_conf_status(rules='rules') -%}
    case
        when n_enterprises < {{ rules }}.threshold_min_enterprises then 'C'
        when dominance and (
            coalesce(num_top > {{ rules }}.dominance_k / 100.0 * num_magnitude and num_magnitude > 0, false)
            or coalesce(den_top > {{ rules }}.dominance_k / 100.0 * den_magnitude and den_magnitude > 0, false)
        ) then 'C'
        else 'F'
    end
{%- endmacro %}

{#- Aggregate: the sum of the `n` largest values among lists of largest values (each `max(x, n)` of a part
    of the rows), so the dominance rule's top contributions roll up from finer cells. Null when no list
    holds a value, like list_sum(max(x, n)) over the rows themselves. -#}
{% macro sum_of_largest(lists, n) -%}
    list_sum(list_slice(list_reverse_sort(flatten(list({{ lists }}))), 1, {{ n }}))
{%- endmacro %}
