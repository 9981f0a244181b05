{#- Publication status (statistics.md). Survey cells: suppressed (conf_status C) when n < min_n or CV above
    cv_suppress; otherwise obs_status U above cv_low, else A; P overrides A/U while the period is
    provisional. A suppressed survey cell keeps obs_status as if it were published (U when its CV or n is what
    suppressed it, A otherwise, P while provisional). `rules` is the one-row publication_rules() relation. -#}

{% macro survey_conf_status(n, cv, rules='rules') -%}
    case
        when {{ n }} < {{ rules }}.min_n or coalesce({{ cv }} > {{ rules }}.cv_suppress, false) then 'C'
        else 'F'
    end
{%- endmacro %}

{% macro survey_obs_status(period, n, cv, rules='rules') -%}
    case
        when {{ is_provisional(period, rules ~ '.provisional_days') }} then 'P'
        when coalesce({{ cv }} > {{ rules }}.cv_low, false) or {{ n }} < {{ rules }}.min_n then 'U'
        else 'A'
    end
{%- endmacro %}

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
