"""For demos, tests and benchmarks: sample data, the DeepSeek simulator, embedded PostgreSQL, the demo."""
