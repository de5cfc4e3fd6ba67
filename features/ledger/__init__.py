"""The ledger: reading an export, mapping it, typing it and checking the contract."""
