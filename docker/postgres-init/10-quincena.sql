-- Runs once, when the PostgreSQL volume is first created (docker-entrypoint-initdb.d).
-- The firm's data gets its own database next to Airflow's metadata, owned by the same role;
-- its tables are created by `quincena db migrate` in airflow-init.
CREATE DATABASE quincena;
