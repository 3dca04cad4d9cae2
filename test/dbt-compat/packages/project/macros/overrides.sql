{# The project's own implementation of a dbt_utils macro: dispatch finds it first. #}
{% macro default__safe_add(field_list) -%}
  ({{ field_list | join(' + ') }}) * 1
{%- endmacro %}

{# A macro of the project that dispatches in its own namespace, as packages do. #}
{% macro money(column) -%}
  {{ return(adapter.dispatch('money', 'compat_packages')(column)) }}
{%- endmacro %}

{% macro default__money(column) -%}
  round({{ column }}, 0)
{%- endmacro %}

{% macro duckdb__money(column) -%}
  round({{ column }}, 1)
{%- endmacro %}

{% macro status_list() %}
  {{ return(['placed', 'shipped', 'returned', "it's"]) }}
{% endmacro %}
