{#- Publication rules and the build's vintage: parameters held as data (seed publication_rules). -#}

{#- One row with one column per rule, to cross join where the rules apply. -#}
{% macro publication_rules() %}
    select
        max(value) filter (where rule = 'min_n') as min_n,
        max(value) filter (where rule = 'cv_suppress') as cv_suppress,
        max(value) filter (where rule = 'cv_low') as cv_low,
        max(value) filter (where rule = 'min_df') as min_df,
        max(value) filter (where rule = 'threshold_min_enterprises') as threshold_min_enterprises,
        max(value) filter (where rule = 'dominance_n') as dominance_n,
        max(value) filter (where rule = 'dominance_k') as dominance_k,
        max(value) filter (where rule = 'provisional_days') as provisional_days,
    from {{ ref('publication_rules') }}
{% endmacro %}

{#- A rule's value known at compile time, for SQL that needs a constant (the dominance rule's top-n). -#}
{% macro publication_rule_constant(rule, default) %}
    {%- set rules = ref('publication_rules') -%}
    {%- if not execute -%}
        {{ return(default) }}
    {%- endif -%}
    {%- set result = run_query("select value from " ~ rules ~ " where rule = '" ~ rule ~ "'") -%}
    {{ return(result.columns[0].values()[0] | int) }}
{% endmacro %}

{#- The build's time, stamped on every value: the `vintage` var (unit tests), else WFM_VINTAGE set by
    wfm.build, else the run's start (UTC). wfm.build uses the environment rather than --vars because dbt
    parses the whole project again whenever the vars change. -#}
{% macro vintage() -%}
    cast('{{ var("vintage") or env_var("WFM_VINTAGE", "") or run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#- A period is provisional (obs_status P) until `provisional_days` days after its last day, seen from the
    vintage: late returns and waves may still revise it. -#}
{% macro is_provisional(period, provisional_days) -%}
    (cast({{ vintage() }} as date) < {{ period_end(period) }} + cast({{ provisional_days }} as integer))
{%- endmacro %}

{#- Two published values differ (a revision) when one is null and the other not, or when they differ by
    more than 1e-9 relative: the last bits of a sum depend on the order parallel threads add it in. -#}
{% macro values_differ(a, b) -%}
    (
        ({{ a }} is null) <> ({{ b }} is null)
        or abs({{ a }} - {{ b }}) > 1e-9 * greatest(abs({{ a }}), abs({{ b }}), 1)
    )
{%- endmacro %}

{#- Progress (in %) of the straight line from `base` % in the base year to 100 % in the target year, at `year`. -#}
{% macro path_progress(base, base_year, target_year, year) -%}
    ({{ base }} + (100 - {{ base }}) * ({{ year }} - {{ base_year }}) / ({{ target_year }} - {{ base_year }}))
{%- endmacro %}

{#- `value` meets `target` under the seed's comparison ('>=', '>', '<=', '<', '='); null when either is null. -#}
{% macro meets(value, comparison, target) -%}
    case {{ comparison }}
        when '>=' then {{ value }} >= {{ target }}
        when '>' then {{ value }} > {{ target }}
        when '<=' then {{ value }} <= {{ target }}
        when '<' then {{ value }} < {{ target }}
        when '=' then {{ value }} = {{ target }}
    end
{%- endmacro %}
