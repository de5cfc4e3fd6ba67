"""precollect: pipelines."""
