{#- The current return per enterprise and period: the latest submitted_at (ties: the later load, then the
    later row). Earlier returns stay in raw as history. The superseded returns are found on the key and
    ordering columns alone and the rest pass by them: ranking the whole returns carried every column through
    the window's sort (alone on the national returns 0.67 → 0.41 s, the same rows). -#}
{{ incremental_by_period() }}
with

returns as (
    select * from {{ ref('stg_enterprise__returns') }}
    where {{ period_filter('enterprise') }}
),

ranked as (
    select
        batch_id,
        source_row_number,
        row_number() over (
            partition by uscc, period
            order by submitted_at desc, loaded_at desc, batch_id desc, source_row_number desc
        ) as rank,
    from {{ ref('stg_enterprise__returns') }}
    where {{ period_filter('enterprise') }}
),

superseded as (
    select batch_id, source_row_number from ranked where rank > 1
),

final as (
    select * from returns
    anti join superseded using (batch_id, source_row_number)
)

select * from final
