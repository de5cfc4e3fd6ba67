"""precollect: serving."""
