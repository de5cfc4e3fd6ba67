"""The registry: MLflow tracking, the pyfunc artifact, aliases and promotion."""
