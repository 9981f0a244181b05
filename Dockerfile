# The production image: the same Python, the same lock, the same package as `make setup` builds locally.
FROM python:3.11-slim-bookworm

ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 \
    AIRFLOW_HOME=/opt/airflow WFM_PROJECT_DIR=/opt/wfm WFM_HOME=/var/lib/wfm

# fonts-noto-cjk: the bulletin's charts measure their Chinese labels with it (docs/decisions.md)
RUN apt-get update && apt-get install --no-install-recommends -y build-essential fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/wfm
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock && pip check

COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-deps --editable .

# dags/, dbt_project/ and expectations/ are mounted by docker-compose.yml so that a reviewed change to them
# needs no rebuild; they are copied too, so the image also runs on its own.
COPY dags ./dags
COPY dbt_project ./dbt_project
COPY expectations ./expectations

RUN useradd --uid 50000 --home-dir /opt/airflow --create-home airflow \
    && mkdir -p /var/lib/wfm && chown -R airflow /var/lib/wfm /opt/wfm/dbt_project
USER airflow
