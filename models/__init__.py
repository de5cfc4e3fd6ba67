"""precollect: models."""
