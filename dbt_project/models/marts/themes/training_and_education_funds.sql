{#- Dashboard theme 'training_and_education_funds' (registry column theme): see macro theme_mart. -#}
{{ theme_mart('training_and_education_funds') }}
