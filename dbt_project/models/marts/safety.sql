{#- Dashboard theme 'safety' (registry column theme): see macro theme_mart (a view). -#}
{{ config(materialized='view') }}
{{ theme_mart('safety') }}
