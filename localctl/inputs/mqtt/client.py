"""An asyncio-friendly MQTT client: the only module that imports paho-mqtt.

Why paho's own network thread (`loop_start`) rather than driving its socket from the asyncio
loop: paho reconnects with backoff (`reconnect_delay_set`) only inside its own loop, and its
connect, including the TLS handshake, blocks. Driving the socket from asyncio would mean
rewriting both and risking a stalled event loop during a slow handshake. So paho owns the
socket in its thread, and every paho callback only hands its facts to the event loop with
`call_soon_threadsafe`; all bookkeeping and every user handler then run on the event loop,
with no locks. Publishing from the event loop is safe: paho queues the packet under its own
lock and wakes its thread, so `publish` never waits on the network.

Calling contract: construct, `subscribe` handlers, `await start()`, optionally
`await wait_ready()`, and `await stop()` at the end (or use `async with`). Handlers and
`on_connected` callbacks run on the event loop and must not block.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from localctl.inputs.mqtt.config import MqttConfig
from localctl.inputs.mqtt.tls import tls_context

__all__ = ["MqttClient", "MqttMessage", "topic_matches"]

_log = logging.getLogger(__name__)

ONLINE = b"online"
OFFLINE = b"offline"


@dataclass(frozen=True, slots=True)
class MqttMessage:
    """A message received on a subscribed topic."""

    topic: str
    payload: bytes
    retained: bool


MessageHandler = Callable[[MqttMessage], None]


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether `topic` matches `topic_filter` (with `+` and `#` wildcards)."""
    return bool(paho.topic_matches_sub(topic_filter, topic))


class MqttClient:
    """One connection to the broker with reconnect, restored subscriptions and a status topic.

    `<base>/status` is `online` (retained) while connected and `offline` (retained) after a
    clean stop or, through the last will, after the connection dropped.
    """

    def __init__(self, config: MqttConfig, *, environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.status_topic = f"{config.base_topic}/status"
        self._handlers: dict[str, list[MessageHandler]] = {}
        self._connected_callbacks: list[Callable[[], None]] = []
        self._disconnected_callbacks: list[Callable[[], None]] = []
        self._pending_suback_mids: set[int] = set()
        self._connected = False
        self._stopping = False
        self._failed_attempts = 0
        self._dropped_messages = 0
        self._ready = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._paho = self._make_paho(config, os.environ if environ is None else environ)

    # -- the caller's side (event loop) --------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected

    def subscribe(self, topic_filter: str, handler: MessageHandler) -> None:
        """Call `handler` on the event loop for every message matching `topic_filter`.

        The subscription is made now if connected and again after every reconnect.
        """
        known_filter = topic_filter in self._handlers
        self._handlers.setdefault(topic_filter, []).append(handler)
        if self._connected and not known_filter:
            self._send_subscriptions([topic_filter])

    def on_connected(self, callback: Callable[[], None]) -> None:
        """Call `callback` on the event loop after every (re)connection."""
        self._connected_callbacks.append(callback)

    def on_disconnected(self, callback: Callable[[], None]) -> None:
        """Call `callback` on the event loop whenever an established connection is lost."""
        self._disconnected_callbacks.append(callback)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Queue a message at the configured QoS; never waits for the network.

        While the broker is unreachable, messages wait in a bounded queue (dropped past
        `max_queued_messages`, with a warning).
        """
        info = self._paho.publish(topic, payload, qos=self.config.qos, retain=retain)
        if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            if self._dropped_messages == 0:  # once per outage; the count comes on reconnecting
                _log.warning("mqtt: outgoing queue full, dropping messages (first on %s)", topic)
            self._dropped_messages += 1

    async def start(self) -> None:
        """Start connecting in the background; returns at once (see `wait_ready`)."""
        self._loop = asyncio.get_running_loop()
        self._paho.connect_async(self.config.host, self.config.port, self.config.keepalive_s)
        self._paho.loop_start()

    async def wait_ready(self) -> None:
        """Wait until connected and every subscription is acknowledged by the broker."""
        await self._ready.wait()

    async def stop(self, *, offline_timeout_s: float = 2.0) -> None:
        """Publish `offline`, disconnect cleanly and stop paho's thread."""
        if self._loop is None:
            return
        self._stopping = True
        if self._connected:
            info = self._paho.publish(self.status_topic, OFFLINE, qos=1, retain=True)
            await self._wait_published(info, offline_timeout_s)
        self._paho.disconnect()
        # The thread leaves at once after a disconnect; joining it must not hold the loop.
        await asyncio.to_thread(self._paho.loop_stop)
        self._loop = None
        self._connected = self._stopping = False
        self._ready.clear()

    async def __aenter__(self) -> MqttClient:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- paho's thread: hand facts to the event loop, nothing else -----------------------------

    def _make_paho(self, config: MqttConfig, environ: Mapping[str, str]) -> paho.Client:
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id,
            clean_session=True,
            protocol=paho.MQTTv311,
        )
        if config.username is not None:
            client.username_pw_set(config.username, config.password(environ))
        if config.tls is not None:
            client.tls_set_context(tls_context(config.tls))
            # Without this paho checks the host name itself, with a deprecated function,
            # even when verification is off.
            client.tls_insecure_set(not config.tls.verify)
        client.will_set(self.status_topic, OFFLINE, qos=1, retain=True)
        # paho types the delays as int; it only sleeps on them, so fractions of a second work.
        delays: Any = (config.reconnect_min_delay_s, config.reconnect_max_delay_s)
        client.reconnect_delay_set(*delays)
        client.max_queued_messages_set(config.max_queued_messages)
        client.on_connect = self._paho_on_connect
        client.on_connect_fail = self._paho_on_connect_fail
        client.on_disconnect = self._paho_on_disconnect
        client.on_subscribe = self._paho_on_subscribe
        client.on_message = self._paho_on_message
        return client

    def _hand_off(self, callback: Callable[..., None], *args: object) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is left to tell
            loop.call_soon_threadsafe(callback, *args)

    def _paho_on_connect(
        self, _c: object, _u: object, _f: object, reason: Any, _p: object = None
    ) -> None:
        if reason.is_failure:
            self._hand_off(self._handle_connect_failed, f"broker refused the connection: {reason}")
        else:
            self._hand_off(self._handle_connected)

    def _paho_on_connect_fail(self, _c: object, _u: object) -> None:
        self._hand_off(self._handle_connect_failed, "network, TLS or broker down")

    def _paho_on_disconnect(
        self, _c: object, _u: object, _f: object, reason: Any, _p: object = None
    ) -> None:
        self._hand_off(self._handle_disconnected, str(reason))

    def _paho_on_subscribe(
        self, _c: object, _u: object, mid: int, reasons: Any, _p: object = None
    ) -> None:
        self._hand_off(self._handle_suback, mid, [str(r) for r in reasons if r.is_failure])

    def _paho_on_message(self, _c: object, _u: object, message: Any) -> None:
        received = MqttMessage(str(message.topic), bytes(message.payload), bool(message.retain))
        self._hand_off(self._dispatch, received)

    # -- event loop: state changes and dispatch ------------------------------------------------

    def _handle_connect_failed(self, why: str) -> None:
        # paho retries with backoff; say so once per outage, not at every attempt.
        level = logging.WARNING if self._failed_attempts == 0 else logging.DEBUG
        self._failed_attempts += 1
        host, port = self.config.host, self.config.port
        _log.log(level, "mqtt: could not connect to %s:%s (%s); retrying", host, port, why)

    def _handle_connected(self) -> None:
        _log.info("mqtt: connected to %s:%s", self.config.host, self.config.port)
        self._connected = True
        self._failed_attempts = 0
        if self._dropped_messages:
            _log.warning(
                "mqtt: %d messages were dropped while disconnected", self._dropped_messages
            )
            self._dropped_messages = 0
        self._pending_suback_mids.clear()
        self._paho.publish(self.status_topic, ONLINE, qos=1, retain=True)
        self._send_subscriptions(list(self._handlers))
        self._update_ready()
        for callback in self._connected_callbacks:
            self._run_guarded(callback)

    def _handle_disconnected(self, reason: str) -> None:
        was_connected, self._connected = self._connected, False
        self._ready.clear()
        if self._stopping:
            _log.info("mqtt: disconnected")
        elif was_connected:
            _log.warning("mqtt: connection lost (%s); reconnecting", reason)
            for callback in self._disconnected_callbacks:
                self._run_guarded(callback)

    def _handle_suback(self, mid: int, failures: list[str]) -> None:
        if failures:
            _log.error("mqtt: broker refused a subscription: %s", ", ".join(failures))
        self._pending_suback_mids.discard(mid)
        self._update_ready()

    def _send_subscriptions(self, topic_filters: list[str]) -> None:
        if not topic_filters:
            return
        subscriptions: list[tuple[str, int]] = [(f, self.config.qos) for f in topic_filters]
        result, mid = self._paho.subscribe(subscriptions)
        if result == MQTTErrorCode.MQTT_ERR_SUCCESS and mid is not None:
            self._pending_suback_mids.add(mid)
        self._update_ready()

    def _update_ready(self) -> None:
        if self._connected and not self._pending_suback_mids:
            self._ready.set()
        else:
            self._ready.clear()

    def _dispatch(self, message: MqttMessage) -> None:
        for topic_filter, handlers in list(self._handlers.items()):
            if topic_matches(topic_filter, message.topic):
                for handler in list(handlers):
                    self._run_guarded(handler, message)

    @staticmethod
    def _run_guarded(callback: Callable[..., None], *args: object) -> None:
        # A broken handler must not stop the others nor the connection; it is a bug, so
        # the traceback is logged.
        try:
            callback(*args)
        except Exception:
            _log.exception("mqtt: handler %r failed", callback)

    @staticmethod
    async def _wait_published(info: paho.MQTTMessageInfo, timeout_s: float) -> None:
        # paho waits on a condition its thread signals; in a worker thread so the loop runs on.
        try:
            await asyncio.to_thread(info.wait_for_publish, timeout_s)
        except (ValueError, RuntimeError) as error:  # paho's ways of saying it was not sent
            _log.warning("mqtt: could not publish offline before disconnecting: %s", error)
