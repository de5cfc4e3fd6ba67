"""When an open invoice will be paid: a discrete-time hazard model, its pay-date distribution,
conformal intervals and the cash-in forecast simulated from it."""
