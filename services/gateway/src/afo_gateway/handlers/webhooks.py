"""Integrators' webhook subscriptions and their delivery log, owned by notifier: the gateway checks the
caller may manage integrations, then asks the owner over RPC (which answers 404 for another tenant's ids)."""

from __future__ import annotations

from afo_common.rpcs import notifier_webhooks as nw
from afo_common.rpcs.pages import Page
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.handlers.audit import AuditTrail
from afo_gateway.handlers.owners import Owners


class Webhooks:
    def __init__(self, owners: Owners, audit: AuditTrail) -> None:
        self._owners = owners
        self._audit = audit

    async def create(self, principal: Principal, body: nw.SubscriptionBody) -> nw.CreatedSubscription:
        require(principal, Permission.MANAGE_INTEGRATIONS)
        request = nw.CreateSubscription(tenant_id=principal.tenant_id, subscription=body)
        created: nw.CreatedSubscription = await self._owners.call(nw.CREATE_SUBSCRIPTION, request)
        await self._audit.changed(principal, "webhook.create", created.id)
        return created

    async def list(self, principal: Principal, limit: int, cursor: str | None) -> Page[nw.SubscriptionView]:
        require(principal, Permission.MANAGE_INTEGRATIONS)
        return await self._owners.call(nw.LIST_SUBSCRIPTIONS, nw.ListSubscriptions(
            tenant_id=principal.tenant_id, limit=limit, cursor=cursor))

    async def get(self, principal: Principal, subscription_id: str) -> nw.SubscriptionView:
        require(principal, Permission.MANAGE_INTEGRATIONS)
        return await self._owners.call(nw.GET_SUBSCRIPTION, self._ref(principal, subscription_id))

    async def delete(self, principal: Principal, subscription_id: str) -> nw.Deleted:
        require(principal, Permission.MANAGE_INTEGRATIONS)
        deleted: nw.Deleted = await self._owners.call(nw.DELETE_SUBSCRIPTION, self._ref(principal, subscription_id))
        await self._audit.changed(principal, "webhook.delete", subscription_id)
        return deleted

    async def deliveries(self, principal: Principal, subscription_id: str, limit: int,
                         cursor: str | None) -> Page[nw.DeliveryView]:
        require(principal, Permission.MANAGE_INTEGRATIONS)
        return await self._owners.call(nw.LIST_DELIVERIES, nw.ListDeliveries(
            tenant_id=principal.tenant_id, subscription_id=subscription_id, limit=limit, cursor=cursor))

    async def replay(self, principal: Principal, subscription_id: str, delivery_id: str) -> nw.DeliveryView:
        require(principal, Permission.MANAGE_INTEGRATIONS)
        return await self._owners.call(nw.REPLAY_DELIVERY, nw.DeliveryRef(
            tenant_id=principal.tenant_id, subscription_id=subscription_id, delivery_id=delivery_id))

    async def enable(self, principal: Principal, subscription_id: str) -> nw.SubscriptionView:
        require(principal, Permission.MANAGE_INTEGRATIONS)
        enabled: nw.SubscriptionView = await self._owners.call(
            nw.ENABLE_SUBSCRIPTION, self._ref(principal, subscription_id))
        await self._audit.changed(principal, "webhook.enable", subscription_id)
        return enabled

    @staticmethod
    def _ref(principal: Principal, subscription_id: str) -> nw.SubscriptionRef:
        return nw.SubscriptionRef(tenant_id=principal.tenant_id, subscription_id=subscription_id)
