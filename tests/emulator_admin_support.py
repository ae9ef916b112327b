"""Shared by the emulator's Admin API tests: one module-scoped emulator and Google's own Admin clients
(v1beta and v1alpha) on a plain gRPC channel, with no ga4kit code in between."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.analytics import admin_v1alpha, admin_v1beta
from google.analytics.admin_v1alpha.services.analytics_admin_service.transports import (
    AnalyticsAdminServiceGrpcTransport as AlphaTransport,
)
from google.analytics.admin_v1beta.services.analytics_admin_service.transports import (
    AnalyticsAdminServiceGrpcTransport as BetaTransport,
)
from google.protobuf import field_mask_pb2

from ga4kit.emulator import Emulator

VERSIONS = [admin_v1beta, admin_v1alpha]


@dataclass
class World:
    """A running emulator, its account, and Google's clients for both Admin versions."""

    emu: Emulator
    account: str
    beta: Any
    alpha: Any
    channel: grpc.Channel

    def client(self, m: Any) -> Any:
        return self.alpha if m is admin_v1alpha else self.beta

    def new_property(self, name: str = "Shop", **kwargs: Any) -> str:
        """A fresh property (with a web stream) so tests sharing the emulator do not see each other."""
        pid = self.emu.admin.create_property(self.account, name, **kwargs)
        self.emu.admin.create_web_stream(pid, f"{name} web", "https://shop.example.com")
        return pid

    def stream_of(self, pid: str) -> str:
        return self.emu.admin.property_info(pid).stream_ids[0]


def start_world() -> World:
    emu = Emulator(demo=False)
    account = emu.admin.create_account("Agency")
    emu.start()
    channel = grpc.insecure_channel(emu.address)
    return World(emu, account, admin_v1beta.AnalyticsAdminServiceClient(transport=BetaTransport(channel=channel)),
                 admin_v1alpha.AnalyticsAdminServiceClient(transport=AlphaTransport(channel=channel)), channel)


def stop_world(world: World) -> None:
    world.channel.close()
    world.emu.stop(grace=None)


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


def as_user(email: str) -> list[tuple[str, str]]:
    """gRPC metadata that makes the call come from ``email`` (the emulator's principal header)."""
    return [("x-ga4kit-principal", email)]
