-- A survey cell published free (F) has at least min_n respondents and a CV not above cv_suppress, and one
-- with a CV above cv_low is flagged U (or P while provisional).
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
