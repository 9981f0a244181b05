-- int_enterprise__current_returns reads the size classes as large, medium, small, micro (first met
-- wins): the seed's ranks must say the same, once per section.
select industry_section, size_class, rank
from {{ ref('size_classes') }}
qualify rank <> case size_class when 'large' then 1 when 'medium' then 2 when 'small' then 3 when 'micro' then 4 end
    or count(*) over (partition by industry_section, size_class) > 1
