"""Superset's configuration for `make bi` (SUPERSET_CONFIG_PATH): metadata in SQLite under .bi/, nothing cached,
nothing reported to the internet. WFM_BI_DIR names the folder (`wfm_tools.bi` sets it)."""

import os
from pathlib import Path

BI_DIR = Path(os.environ["WFM_BI_DIR"])

SECRET_KEY = (BI_DIR / "secret_key").read_text(encoding="utf-8").strip()
SQLALCHEMY_DATABASE_URI = f"sqlite:///{BI_DIR / 'superset.db'}"

# A new publication shows on the next refresh: no cached query results, and Superset's analytics connections use
# NullPool (its default), so every query opens published/marts.duckdb again and gets the current version.
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
FILTER_STATE_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 86400}
EXPLORE_FORM_DATA_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 86400}

SCARF_ANALYTICS = False
TALISMAN_ENABLED = False  # served on localhost over plain HTTP
FEATURE_FLAGS = {"DASHBOARD_RBAC": False}
BABEL_DEFAULT_LOCALE = "en"
ROW_LIMIT = 10000
