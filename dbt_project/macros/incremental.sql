{#- Incremental by period. The heavy intermediate tables (one row per respondent, PSU or enterprise) are
    materialised incrementally with delete+insert on `period`: a build recomputes only the periods wfm.build
    listed in audit.build_periods for the source (the periods of batches promoted since the last successful
    build) and replaces those periods' rows. A period's rows depend on that period's raw rows alone (plus
    seeds and code, whose change makes wfm.build rebuild everything with --full-refresh).

    `period_filter(source_name)` is the condition a model puts on its input: the periods to recompute in an
    incremental run, `true` otherwise (first build, --full-refresh, or a dbt build outside wfm.build, which
    does not set the var wfm_incremental and so recomputes every period). The periods are read at compile
    time and written as literals, so DuckDB skips the other row groups by their min/max. -#}
{% macro period_filter(source_name, column='period') -%}
    {%- if execute and is_incremental() and var('wfm_incremental', false) -%}
        {%- set query -%}
            select distinct period from {{ source('audit', 'build_periods') }}
            where source = '{{ source_name }}' order by period
        {%- endset -%}
        {%- set periods = run_query(query).columns[0].values() -%}
        {%- if periods | length == 0 -%}
            false
        {%- else -%}
            {{ column }} in ({%- for p in periods -%}
                '{{ p | replace("'", "''") }}'{{ ", " if not loop.last }}
            {%- endfor -%})
        {%- endif -%}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- The config of a table incremental by period (see period_filter). A change of columns (a registry row
    added) must come with a full refresh, which wfm.build does on its own when the project changes. -#}
{% macro incremental_by_period() -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='period',
        on_schema_change='fail',
    ) }}
{%- endmacro %}
