"""Training: splits, baselines, fitting, calibration choice, metrics, plots, tuning."""
