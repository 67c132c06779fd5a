"""Meter readings of a city's billing centre: the domain, storage and services shared by every function."""
