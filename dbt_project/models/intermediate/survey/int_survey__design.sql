{#- The sample design of each wave, from every respondent whatever the scope: n_h (PSUs per stratum) and
    the degrees of freedom (PSUs − strata) that every estimate of the wave uses. -#}
with

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

strata as (
    select
        period,
        stratum,
        count(distinct psu) as n_psu,
    from responses
    group by period, stratum
),

waves as (
    select
        period,
        sum(n_psu) as wave_psus,
        count(*) as wave_strata,
        count(*) filter (where n_psu = 1) as wave_singleton_strata,
    from strata
    group by period
),

final as (
    select
        strata.period,
        strata.stratum,
        strata.n_psu,
        waves.wave_psus,
        waves.wave_strata,
        waves.wave_psus - waves.wave_strata as df,
        waves.wave_singleton_strata,
    from strata
    inner join waves using (period)
)

select * from final
