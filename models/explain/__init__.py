"""Explanations: exact TreeSHAP values, probability effects and reason sentences."""
