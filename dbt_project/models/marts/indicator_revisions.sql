{#- Earlier vintages of values that have since changed (interface.md). Before indicator_values is replaced,
    each of its rows whose value or status differs in this build (or that this build no longer produces)
    is appended here with its own vintage. Values equal to 1e-9 (relative) are the same value: parallel
    aggregation may sum in another order and change the last bits, which is no revision. So a cell's history
    is its revisions plus its current row; the value published at time T is, among those rows, the one with
    the smallest vintage at or after the last build before T. -#}
{#- Incremental, appending, and never rebuilt by --full-refresh: the history cannot be recomputed. A column
    added to indicator_values is added here too, empty in the rows appended before it. -#}
{{ config(materialized='incremental', full_refresh=false, on_schema_change='append_new_columns') }}
{%- set published = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='indicator_values'
) if execute else none -%}

with

values_this_build as (
    select * from {{ ref('int_indicator_values') }}
),

{% if published is not none and is_incremental() -%}
published as (
    select * from {{ published }}
),

changed as (
    select published.*
    from published
    left join values_this_build as current
        on published.indicator_code = current.indicator_code
        and published.period = current.period
        and published.scope = current.scope
        and published.source = current.source
        and published.breakdown = current.breakdown
        and published.member = current.member
    where current.indicator_code is null
        or {{ values_differ('published.value', 'current.value') }}
        or published.obs_status is distinct from current.obs_status
        or published.conf_status is distinct from current.conf_status
),
{%- else -%}
changed as (
    select * from values_this_build
    where false
),
{%- endif %}

final as (
    select
        indicator_code,
        period,
        scope,
        source,
        breakdown,
        member,
        value,
        numerator,
        denominator,
        n_unweighted,
        se,
        ci_lower,
        ci_upper,
        cv,
        obs_status,
        conf_status,
        vintage,
        df,
        quality_note,
    from changed
)

select * from final
