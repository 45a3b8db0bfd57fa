"""Running the product: the Airflow settings every deployment shares and the preflight (`quincena doctor`)."""
