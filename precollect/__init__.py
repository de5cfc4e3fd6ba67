"""precollect: precollect."""
