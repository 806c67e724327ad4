"""Dead letters for the platform's operators: listed oldest first (a queue to work through), inspected, replayed
(the event published again on its own subject: ``domain/dead_letters.py`` says what that does to each consumer)
or discarded (removed from the DEADLETTER stream). Each needs ``Permission.MANAGE_PLATFORM``: a dead letter
carries a tenant's event as it was.

A replay or a discard is recorded once (``ActionTaken``: who, when, what the letter was) with an audit entry,
in the transaction that publishes the replayed event: a failed publish records nothing. The letter is removed
from the stream after the commit; a second request for the same letter finds the record, finishes a removal an
interruption left undone, and answers with the first one's record without publishing again. A replayed letter
is not discarded afterwards nor a discarded one replayed (409)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from afo_common.clock import Clock
from afo_gateway.domain.access import Permission, Principal, require
from afo_gateway.domain.dead_letters import (
    Action,
    ActionTaken,
    AlreadySettled,
    DeadLetter,
    Replay,
    action_taken,
    after_cursor,
    replay_of,
    sequence_of,
)
from afo_gateway.domain.errors import DeadLetterSettled, Invalid, NotFound
from afo_gateway.handlers.unit_of_work import Store


class DeadLetterQueue(Protocol):
    async def dead_letters(self, after: int, limit: int, service: str | None) -> list[DeadLetter]: ...

    async def dead_letter(self, sequence: int) -> DeadLetter | None: ...

    async def republish(self, replay: Replay) -> None: ...

    async def remove(self, sequence: int) -> bool: ...


@dataclass(frozen=True)
class Listed:
    letter: DeadLetter
    action: ActionTaken | None  # an action whose removal from the stream was interrupted


@dataclass(frozen=True)
class Inspected:
    id: str
    letter: DeadLetter | None  # None once replayed or discarded
    action: ActionTaken | None


class DeadLetters:
    def __init__(self, store: Store, queue: DeadLetterQueue, clock: Clock, services: tuple[str, ...]) -> None:
        self._store = store
        self._queue = queue
        self._clock = clock
        self._services = services

    async def page(self, principal: Principal, limit: int, cursor: str | None,
                   service: str | None) -> tuple[list[Listed], str | None]:
        require(principal, Permission.MANAGE_PLATFORM)
        if service is not None and service not in self._services:
            raise Invalid(f"a service is one of {', '.join(self._services)}",
                          [{"loc": ["query", "service"], "msg": "not a service", "type": "value_error"}])
        letters = await self._queue.dead_letters(after_cursor(cursor), limit, service)
        async with self._store.reading() as repos:
            actions = await repos.dead_letters.of([letter.id for letter in letters])
        next_cursor = str(letters[-1].sequence) if len(letters) == limit else None
        return [Listed(letter, actions.get(letter.id)) for letter in letters], next_cursor

    async def get(self, principal: Principal, letter: str) -> Inspected:
        require(principal, Permission.MANAGE_PLATFORM)
        sequence = sequence_of(letter)
        found = await self._queue.dead_letter(sequence)
        async with self._store.reading() as repos:
            action = await repos.dead_letters.get(letter)
        if found is None and action is None:
            raise NotFound(f"dead letter {letter} not found")
        return Inspected(letter, found, action)

    async def replay(self, principal: Principal, letter: str) -> ActionTaken:
        return await self._settle(principal, letter, "replayed")

    async def discard(self, principal: Principal, letter: str) -> ActionTaken:
        return await self._settle(principal, letter, "discarded")

    async def _settle(self, principal: Principal, letter: str, action: Action) -> ActionTaken:
        require(principal, Permission.MANAGE_PLATFORM)
        sequence = sequence_of(letter)
        if (done := await self._recorded(letter, action)) is not None:
            await self._queue.remove(sequence)
            return done
        found = await self._queue.dead_letter(sequence)
        if found is None:
            raise NotFound(f"dead letter {letter} not found")
        replay = replay_of(found) if action == "replayed" else None
        now = self._clock.now()
        taken = action_taken(found, action, principal.subject_id, now)
        try:
            async with self._store() as uow:
                await uow.dead_letters.add(taken)
                await uow.audit.record(principal.tenant_id, principal.subject_id, f"dead_letter.{action}", letter,
                                       now)
                if replay is not None:
                    await self._queue.republish(replay)
        except AlreadySettled:
            done = await self._recorded(letter, action)  # another request got there first
            assert done is not None
            return done
        await self._queue.remove(sequence)
        return taken

    async def _recorded(self, letter: str, action: Action) -> ActionTaken | None:
        async with self._store.reading() as repos:
            done = await repos.dead_letters.get(letter)
        if done is not None and done.action != action:
            raise DeadLetterSettled(f"{letter} was {done.action} already")
        return done
