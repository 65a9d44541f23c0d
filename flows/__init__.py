"""Thin Prefect flows, deployments and schedules composing the functions in tasks/."""
