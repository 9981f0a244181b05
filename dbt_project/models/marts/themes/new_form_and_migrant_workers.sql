{#- Dashboard theme 'new_form_and_migrant_workers' (registry column theme): see macro theme_mart. -#}
{{ theme_mart('new_form_and_migrant_workers') }}
