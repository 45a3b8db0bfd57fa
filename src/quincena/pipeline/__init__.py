"""DAG steps: what each task of the DAGs calls (one hop from a task to its behaviour)."""
