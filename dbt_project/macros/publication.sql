{#- Publication status (statistics.md). Survey cells: confidential (conf_status C) when n < min_n; withheld
    for low reliability (obs_status U, conf_status F, value and every figure null, the reason in
    quality_note) when the cell's design df is below min_df, its CV above cv_suppress, its se 0 with the
    estimate strictly inside its bounds, or it has no interval of positive width; published with obs_status U
    when its CV is above cv_low or undefined (a proportion at 0 or 1), else A; P overrides A and U of a
    published cell while the period is provisional (a withheld cell stays U: its empty value needs the
    reason). A confidential survey cell keeps obs_status P while provisional, U otherwise. `rules` is the
    one-row publication_rules() relation. -#}

{#- The published columns of a survey cell from the columns of `cell`: estimate, se, interval_lower,
    interval_upper, cv, n_respondents, df, singleton_strata, zero_se_inside, period, and the expressions
    `numerator` and `denominator` (and `respondents`, the count the min_n rule reads, n_respondents unless
    given; `withheld_with`, a reason to withhold the cell that comes from elsewhere, null when there is none): value, numerator, denominator, n_unweighted, se, ci_lower, ci_upper, cv,
    obs_status, conf_status, df, quality_note, then `withheld` (the reason, null when published). -#}
{% macro survey_publication(cell, numerator=none, denominator=none, respondents=none, withheld_with=none, rules='rules') %}
    {%- set c = cell -%}
    {%- set numerator = numerator or c ~ '.y_sum' -%}
    {%- set denominator = denominator or c ~ '.x_sum' -%}
    {%- set confidential = (respondents or c ~ '.n_respondents') ~ ' < ' ~ rules ~ '.min_n' -%}
    {%- set withheld -%}
        case
            when {{ confidential }} then null
            {%- if withheld_with %}
            when ({{ withheld_with }}) is not null then {{ withheld_with }}
            {%- endif %}
            when {{ c }}.df is null or {{ c }}.df < {{ rules }}.min_df
                then 'withheld: ' || coalesce({{ c }}.df, 0) || ' design degrees of freedom, below the minimum of '
                    || cast({{ rules }}.min_df as integer)
            when {{ c }}.zero_se_inside
                then 'withheld: standard error 0 with the estimate inside its bounds'
            when {{ c }}.cv > {{ rules }}.cv_suppress
                then 'withheld: CV ' || round(100 * {{ c }}.cv, 1) || ' % above ' || round(100 * {{ rules }}.cv_suppress, 1) || ' %'
            when {{ c }}.interval_lower is null or {{ c }}.interval_upper is null
                    or not ({{ c }}.interval_upper > {{ c }}.interval_lower)
                then 'withheld: no interval of positive width'
        end
    {%- endset -%}
    {%- set shown = '(not ' ~ confidential ~ ' and (' ~ withheld ~ ') is null)' -%}
        case when {{ shown }} then {{ c }}.estimate end as value,
        case when {{ shown }} then {{ numerator }} end as numerator,
        case when {{ shown }} then {{ denominator }} end as denominator,
        cast({{ c }}.n_respondents as bigint) as n_unweighted,
        case when {{ shown }} then {{ c }}.se end as se,
        case when {{ shown }} then {{ c }}.interval_lower end as ci_lower,
        case when {{ shown }} then {{ c }}.interval_upper end as ci_upper,
        case when {{ shown }} then {{ c }}.cv end as cv,
        case
            when {{ confidential }} then
                case when {{ is_provisional(c ~ '.period', rules ~ '.provisional_days') }} then 'P' else 'U' end
            when ({{ withheld }}) is not null then 'U'
            when {{ is_provisional(c ~ '.period', rules ~ '.provisional_days') }} then 'P'
            when {{ c }}.cv is null or {{ c }}.cv > {{ rules }}.cv_low then 'U'
            else 'A'
        end as obs_status,
        case when {{ confidential }} then 'C' else 'F' end as conf_status,
        cast({{ c }}.df as integer) as df,
        nullif(concat_ws('; ',
            case when {{ c }}.n_respondents = 0 then 'no respondent in the sample' end,
            {{ withheld }},
            case when {{ c }}.singleton_strata > 0
                then {{ c }}.singleton_strata || ' single-PSU strata contribute no variance' end,
            case when {{ shown }} and {{ c }}.cv is null
                then 'CV undefined: the estimate sits at a bound' end
        ), '') as quality_note,
        {{ withheld }} as withheld,
{% endmacro %}

{#- CV of an estimate from its ratio-scale se and ratio; for a proportion relative to min(p, 1 − p). -#}
{% macro survey_cv(se_ratio, ratio, is_proportion) -%}
    case
        when {{ is_proportion }} then {{ se_ratio }} / nullif(least({{ ratio }}, 1 - {{ ratio }}), 0)
        else {{ se_ratio }} / nullif(abs({{ ratio }}), 0)
    end
{%- endmacro %}

{#- Enterprise cells are a census: only P (provisional) or A. -#}
{% macro enterprise_obs_status(period, rules='rules') -%}
    case when {{ is_provisional(period, rules ~ '.provisional_days') }} then 'P' else 'A' end
{%- endmacro %}
