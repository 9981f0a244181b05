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

{#- Secondary suppression over `relation` (columns conf_status, n_enterprises, member): within each group of
    `partition_by` (one breakdown of one period/indicator/statistic), when exactly one member is suppressed
    the free member with the fewest enterprises (then the smallest code) is suppressed too, with status D.
    After this pass every group holds no suppressed member or at least two, which is the rule's fixpoint for
    a one-level breakdown, so one pass is the "repeat until no confidential cell is alone". -#}
{% macro secondary_suppression(relation, partition_by) %}
    {%- set partition = partition_by | join(', ') -%}
    (
        with

        ranked as (
            select
                *,
                count(*) filter (where conf_status <> 'F') over (partition by {{ partition }}) as n_suppressed,
                count(*) over (partition by {{ partition }}) as n_members,
                row_number() over (
                    partition by {{ partition }}
                    order by case when conf_status = 'F' then 0 else 1 end, n_enterprises, member
                ) as suppression_rank,
            from {{ relation }}
        )

        select
            * exclude (conf_status, n_suppressed, n_members, suppression_rank),
            case
                when conf_status = 'F' and n_suppressed = 1 and n_members > 1 and suppression_rank = 1 then 'D'
                else conf_status
            end as conf_status,
        from ranked
    )
{% endmacro %}

{#- Aggregate: the sum of the `n` largest values among lists of largest values (each `max(x, n)` of a part
    of the rows), so the dominance rule's top contributions roll up from finer cells. Null when no list
    holds a value, like list_sum(max(x, n)) over the rows themselves. -#}
{% macro sum_of_largest(lists, n) -%}
    list_sum(list_slice(list_reverse_sort(flatten(list({{ lists }}))), 1, {{ n }}))
{%- endmacro %}
