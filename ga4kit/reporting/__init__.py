"""Reporting: pull goal events from the GA4 Data API into tidy DataFrames.

pull (orchestrates, per property and concurrently), requests (the Data API requests of a property),
responses (rows read from the raw protobuf messages), tidy (every property's rows into the frames, in one
pass), periods (dates and periods), analysis (chains, goals and flags), funnel (closed funnels).
"""

from ga4kit.reporting.pull import PullResult, pull

__all__ = ["PullResult", "pull"]
