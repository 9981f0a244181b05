{#- Dashboard theme 'skills_and_craftsmen' (registry column theme): see macro theme_mart. -#}
{{ theme_mart('skills_and_craftsmen') }}
