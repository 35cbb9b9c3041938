"""Checks and repairs the network isolation that Azure Machine Learning batch endpoints need."""
