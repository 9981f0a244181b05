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
        {{ built_periods_condition(source_name, column) }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- `column` is one of the periods wfm.build listed for `source_name` in audit.build_periods (`false` when it
    listed none), the periods as literals. -#}
{% macro built_periods_condition(source_name, column) -%}
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
{%- endmacro %}

{#- The data tests of a table incremental by period check the periods the build recomputed, in an incremental
    build of wfm.build: a test says so with `config: {where: "__built_periods__ <source>"}` (its table's
    period column is `period`). This build leaves the other periods' rows untouched, and the build that
    wrote them tested them with the same code (a change of code makes wfm.build rebuild and test everything),
    so testing them again would scan every period's rows to find nothing new. In any other build (full,
    first, --full-refresh, or a dbt build outside wfm.build) the placeholder means every row. Other `where`
    configs work as dbt's own macro has them. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') or '' -%}
    {%- if where.startswith('__built_periods__') -%}
        {%- set source_name = where.split()[1] -%}
        {%- if execute and var('wfm_incremental', false) and not flags.FULL_REFRESH -%}
            {%- set where = built_periods_condition(source_name, 'period') -%}
        {%- else -%}
            {%- set where = '' -%}
        {%- endif -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {% do return(filtered) %}
    {%- else -%}
        {% do return(relation) %}
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
