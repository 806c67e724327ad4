"""Twilio Media Streams' messages (https://www.twilio.com/docs/voice/media-streams/websocket-messages): what
arrives (``connected``, ``start``, ``media``, ``mark``, ``dtmf``, ``stop``) parsed into plain values, and what
goes back (``media``, ``mark``, ``clear``) built as JSON text. Only the caller's (inbound) track is read."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any


class MalformedMessage(ValueError):
    pass


@dataclass(frozen=True)
class Start:
    stream_sid: str
    call_sid: str
    account_sid: str
    custom_parameters: dict[str, str]


@dataclass(frozen=True)
class Media:
    ulaw: bytes


@dataclass(frozen=True)
class Mark:
    name: str


@dataclass(frozen=True)
class Dtmf:
    digit: str


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Other:
    event: str


Message = Start | Media | Mark | Dtmf | Stop | Other
_DIGITS = frozenset("0123456789*#")
_SID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def parse(text: str | bytes) -> Message:
    try:
        message: Any = json.loads(text)
        event = message["event"]
        if event == "media":
            media = message["media"]
            if media.get("track", "inbound") != "inbound":
                return Other("media:" + str(media.get("track")))
            return Media(base64.b64decode(media["payload"], validate=True))
        if event == "start":
            start = message["start"]
            params = start.get("customParameters") or {}
            stream_sid = str(message.get("streamSid") or start["streamSid"])
            if not _SID.fullmatch(stream_sid):
                raise MalformedMessage("streamSid is not a Twilio SID")
            return Start(stream_sid, str(start["callSid"]),
                         str(start.get("accountSid", "")), {str(k): str(v) for k, v in dict(params).items()})
        if event == "mark":
            return Mark(str(message["mark"]["name"]))
        if event == "dtmf":
            digit = str(message["dtmf"]["digit"])
            if digit not in _DIGITS:
                raise MalformedMessage(f"not a DTMF digit: {digit!r}")
            return Dtmf(digit)
        if event == "stop":
            return Stop()
        return Other(str(event))
    except MalformedMessage:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise MalformedMessage(f"not a Media Streams message: {exc}") from exc


def media(stream_sid: str, ulaw: bytes) -> str:
    payload = base64.b64encode(ulaw).decode()
    return f'{{"event":"media","streamSid":"{stream_sid}","media":{{"payload":"{payload}"}}}}'


def mark(stream_sid: str, name: str) -> str:
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear(stream_sid: str) -> str:
    return json.dumps({"event": "clear", "streamSid": stream_sid})
