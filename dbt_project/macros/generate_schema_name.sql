{#- Models land in the schema their folder names (staging, intermediate, marts, reference), not in
    "<target>_<folder>": the warehouse's schemas are part of the interface (interface.md). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
