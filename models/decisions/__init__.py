"""Decisions: the one scoring core, accounts, the worklist and the backtest."""
