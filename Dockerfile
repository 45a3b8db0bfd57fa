# quincena on the official Airflow image: our pinned requirements, the DeepSeek provider, the DAGs.
# Built by docker compose (docker-compose.yaml); `docker build -t quincena-airflow:3.3.2 .` works too.
FROM apache/airflow:3.3.2-python3.11

ENV QUINCENA_HOME=/opt/quincena \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/quincena/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/quincena/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False

USER root
RUN mkdir -p /opt/quincena && chown airflow:root /opt/quincena
USER airflow
WORKDIR /opt/quincena

# Dependencies first: this layer is rebuilt only when the lock changes.
# The Celery provider and the Redis client are not in requirements.lock (they do not resolve from
# the offline index of the development machines); pinned here for the CeleryExecutor workers.
COPY --chown=airflow:root requirements.lock ./
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -r requirements.lock \
        "apache-airflow-providers-celery==3.26.0" "redis==5.2.1"

# Our two packages, editable so QUINCENA_HOME/include is where the code looks for its SQL and catalog.
COPY --chown=airflow:root pyproject.toml ./
COPY --chown=airflow:root src ./src
COPY --chown=airflow:root providers ./providers
RUN pip install --no-cache-dir --no-deps -e . -e providers/deepseek

COPY --chown=airflow:root include ./include
COPY --chown=airflow:root dags ./dags
COPY --chown=airflow:root plugins ./plugins
