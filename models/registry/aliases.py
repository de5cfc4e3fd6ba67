"""The registry aliases (imported without MLflow): which model version serves, which waits."""

CHAMPION = "champion"
"""The version that scores: batch runs and the API load it."""
CHALLENGER = "challenger"
"""The latest trained version, until a promotion decision makes it the champion."""
