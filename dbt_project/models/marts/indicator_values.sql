{#- The published indicator values (interface.md): one row per indicator × period × scope × source ×
    breakdown member, this build's vintage. indicator_revisions runs first and keeps what this replaces. -#}
-- depends_on: {{ ref('indicator_revisions') }}
with

values_this_build as (
    select * from {{ ref('int_indicator_values') }}
),

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
    from values_this_build
)

select * from final
