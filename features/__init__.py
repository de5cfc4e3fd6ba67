"""precollect: features."""
