{#- Dashboard theme 'training_and_education_funds' (registry column theme): see macro theme_mart (a view). -#}
{{ config(materialized='view') }}
{{ theme_mart('training_and_education_funds') }}
