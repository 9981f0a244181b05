{#- The current return per enterprise and period: the latest submitted_at (ties: the later load, then the
    later row), with its size class. Earlier returns stay in raw as history. The superseded returns are found
    on the key and ordering columns alone and the rest pass by them, so the window's sort carries only those
    columns. -#}
{{ incremental_by_period() }}
{%- set sizes = ['large', 'medium', 'small', 'micro'] %}

with

returns as (
    select * from {{ ref('stg_enterprise__returns') }}
    where {{ period_filter('enterprise') }}
),

size_classes as (
    select * from {{ ref('size_classes') }}
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

current_returns as (
    select * from returns
    anti join superseded using (batch_id, source_row_number)
),

{#- 统计上大中小微型企业划分办法(2017): the largest class whose every condition the return meets. The seed's
    thresholds side by side, one row per section (classes largest first), so that each return is sized by
    one equi-join, which leaves the period filter on the returns above in place. -#}
size_thresholds as (
    select
        industry_section,
        {%- for size in sizes %}
        any_value(min_employees) filter (where size_class = '{{ size }}') as {{ size }}_employees,
        any_value(min_revenue) filter (where size_class = '{{ size }}') as {{ size }}_revenue,
        {%- endfor %}
    from size_classes
    group by industry_section
),

sized as (
    select
        current_returns.*,
        case
            {%- for size in sizes %}
            when current_returns.employees_total >= size_thresholds.{{ size }}_employees
                and current_returns.revenue >= size_thresholds.{{ size }}_revenue then '{{ size }}'
            {%- endfor %}
        end as size_class,
    from current_returns
    left join size_thresholds
        on current_returns.industry_section = size_thresholds.industry_section
),

final as (
    select * from sized
)

select * from final
