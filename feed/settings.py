"""Change feed settings (env prefix ``ONEMAP_FEED_``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class FeedSettings(BaseSettings):
    """Page sizes and the webhook deliveries' rhythm.

    Attributes:
        page_limit / max_page_limit: Mutations per pull page by default / at most.
        heartbeat_s: Seconds between the SSE stream's comment heartbeats.
        worker: Whether ``onemap serve`` runs the webhook delivery worker.
        batch: Mutations per webhook delivery at most.
        timeout_s: How long a receiver may take to answer one delivery.
        lease_s: How long a worker holds a subscription while delivering (longer than ``timeout_s``,
            so no other instance delivers the same batch meanwhile).
        backoff_base_s / backoff_cap_s: Retry after base × 2^(failures-1) seconds, at most cap.
        max_failures: Failed deliveries in a row after which a subscription is paused.
        poll_s: With no notification at all, how often the worker looks for due deliveries.
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_FEED_", extra="ignore")

    page_limit: Annotated[int, Field(gt=0)] = 1000
    max_page_limit: Annotated[int, Field(gt=0)] = 10_000
    heartbeat_s: Annotated[float, Field(gt=0)] = 15.0
    worker: bool = True
    batch: Annotated[int, Field(gt=0, le=10_000)] = 500
    timeout_s: Annotated[float, Field(gt=0)] = 10.0
    lease_s: Annotated[float, Field(gt=0)] = 30.0
    backoff_base_s: Annotated[float, Field(gt=0)] = 1.0
    backoff_cap_s: Annotated[float, Field(gt=0)] = 300.0
    max_failures: Annotated[int, Field(gt=0)] = 10
    poll_s: Annotated[float, Field(gt=0)] = 5.0

    @model_validator(mode="after")
    def _lease_outlasts_a_delivery(self) -> FeedSettings:
        if self.lease_s <= self.timeout_s:
            raise ValueError("ONEMAP_FEED_LEASE_S must be longer than ONEMAP_FEED_TIMEOUT_S")
        return self

    def backoff_s(self, failures: int) -> float:
        """Seconds to wait before the next attempt after ``failures`` failures in a row."""
        return float(min(self.backoff_cap_s, self.backoff_base_s * 2 ** max(failures - 1, 0)))
