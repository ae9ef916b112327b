"""Reporting: pull goal events from the GA4 Data API into tidy DataFrames (pull), date periods (periods)."""

from ga4kit.reporting.pull import PullResult, pull

__all__ = ["PullResult", "pull"]
