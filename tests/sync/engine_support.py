"""The real sync engine plugged into the convergence harness (tests/sync/harness.py):
sign-in keeps the token in the vault (as ``app.sync.account.sign_in`` does), and each
device syncs through its own ``SyncEngine``, made again when its vault is reopened."""

from __future__ import annotations

from app.sync.engine import SyncEngine, SyncReport
from app.sync.transport import Enrolment, StoreClient
from tests.sync.harness import HarnessDevice, Member, enrol_device


def sign_in_keeping_token(device: HarnessDevice, member: Member) -> Enrolment:
    """Enrol, then bind the vault with the token and the store's address (the proxy's,
    when the harness talks through one) and learn the team's names."""
    enrolment = enrol_device(device, member)
    svc = device.service
    svc.sync.record_binding(account_user_id=enrolment.user_id,
                            account_team_id=enrolment.team_id,
                            display_name=enrolment.display_name,
                            store_url=device.client.base_url,
                            device_token=enrolment.device_token)
    return enrolment


class Engines:
    """One engine per harness device, over the device's current service."""

    def __init__(self) -> None:
        self.engines: dict[str, SyncEngine] = {}

    def engine(self, device: HarnessDevice) -> SyncEngine:
        engine = self.engines.get(device.name)
        if engine is None or engine.service is not device.service:
            if engine is not None:
                engine.close()
            engine = self.engines[device.name] = SyncEngine(device.service)
        return engine

    def sync_once(self, device: HarnessDevice) -> SyncReport:
        return self.engine(device).sync_once()

    def close(self) -> None:
        for engine in self.engines.values():
            engine.close()
        self.engines.clear()


def direct_client(device: HarnessDevice, base_url: str) -> StoreClient:
    return StoreClient(base_url, device.client.token)
