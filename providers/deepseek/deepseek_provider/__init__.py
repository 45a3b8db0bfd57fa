"""Apache Airflow provider for the DeepSeek API."""

__version__ = "0.1.0"
