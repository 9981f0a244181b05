-- A survey cell published free (F) has at least min_n respondents; one that shows a value has at least min_df
-- design df, a CV not above cv_suppress and an interval of positive width, and is flagged U (or P while
-- provisional) when its CV is above cv_low; one withheld for low reliability (F, no value) is U.
with

published as (
    select * from {{ ref('indicator_values') }}
    where source = 'W' and conf_status = 'F'
),

rules as (
    {{ publication_rules() }}
)

select published.*
from published
cross join rules
where published.n_unweighted < rules.min_n
    or published.cv > rules.cv_suppress
    or (published.cv > rules.cv_low and published.obs_status not in ('U', 'P'))
    or (published.value is not null and published.indicator_code <> 'WAG02' and (
        published.df < rules.min_df or not (published.ci_upper > published.ci_lower)
    ))
    or (published.value is null and published.obs_status <> 'U')
