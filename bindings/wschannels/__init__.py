"""wschannels for Python: reach a wschannels server's clients from scripts,
workers and cron jobs, through the same channel layers and the same config.

    import wschannels
    cfg = wschannels.load_config("app.json")
    chat = cfg.consumer("chat")
    chat.broadcast_event_sync({"action": "system_notify", "payload": "hi"})
    await chat.send_event({"action": "job_result", "payload": "done"}, channel_name)

Blocking forms end in ``_sync`` and release the GIL while they wait; the
others are coroutines that do not block the asyncio loop. A process forked
after opening a layer (a worker pool) gets a layer of its own on first use. Sends beyond what
the layer holds for Redis (max_pending_bytes) wait, in order, for room. Errors raise
wschannels.Error subclasses: ChannelFull, LayerUnavailable, ConfigError,
BadName, UnknownAlias, LayerClosed (ValueError/TypeError for bad events).
"""
import asyncio
import atexit
import json as _json
import os
import threading
import weakref

try:
    from . import _wschannels as _c
except ImportError as _e:  # the source tree's copy, or a broken install
    raise ImportError(
        f"wschannels: no compiled module _wschannels beside {__file__}. "
        "Import the package that the build made (PYTHONPATH=build/bindings) or "
        "the one 'cmake --install' put in place; the source tree's bindings/ "
        "holds only its Python half") from _e

__version__ = _c.__version__
Error = _c.Error
ChannelFull = _c.ChannelFull
LayerUnavailable = _c.LayerUnavailable
ConfigError = _c.ConfigError
BadName = _c.BadName
UnknownAlias = _c.UnknownAlias
LayerClosed = _c.LayerClosed

__all__ = ["load_config", "Config", "Consumer", "Layer", "Error", "ChannelFull",
           "LayerUnavailable", "ConfigError", "BadName", "UnknownAlias", "LayerClosed"]


def _event_json(event, what="event"):
    """An event or message as JSON text: a dict (or an object with
    model_dump()/dict()) holding a string "action"."""
    if hasattr(event, "model_dump"):
        event = event.model_dump(mode="json")
    elif hasattr(event, "dict") and not isinstance(event, dict):
        event = event.dict()
    if not isinstance(event, dict):
        raise TypeError(f"an {what} is a dict with an 'action', not {type(event).__name__}")
    action = event.get("action")
    if not isinstance(action, str) or not action:
        raise ValueError(f"an {what} needs a non-empty string 'action'")
    try:
        return _json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        raise TypeError(f"the {what} is not JSON-serializable: {e}") from None


class Layer:
    """A layer alias of the config, on a thread of its own."""

    def __init__(self, config_text, alias="default"):
        self.alias = alias
        self._t = _c.LayerThread(config_text, alias)
        _open_layers.add(self)

    def _sync(self, kind, target, text):
        self._t.send_sync(kind, target, text)

    async def _async(self, kind, target, text):
        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def done(status, message):  # on the layer's thread, with the GIL
            try:
                loop.call_soon_threadsafe(_settle, fut, status, message)
            except RuntimeError:  # the loop has closed: nobody awaits this
                pass

        self._t.send_async(kind, target, text, done)
        await fut

    def send_sync(self, channel, event):
        """Send an event to a channel name; waits for the layer's answer."""
        self._sync(_c.SEND_EVENT, channel, _event_json(event))

    def group_send_sync(self, group, event):
        """Send an event to every channel in a group."""
        self._sync(_c.BROADCAST_EVENT, group, _event_json(event))

    def group_send_message_sync(self, group, message):
        """Relay a message as is to a group's clients (no event handler runs)."""
        self._sync(_c.BROADCAST_MESSAGE, group, _event_json(message, "message"))

    async def send(self, channel, event):
        """Coroutine form of send_sync."""
        await self._async(_c.SEND_EVENT, channel, _event_json(event))

    async def group_send(self, group, event):
        """Coroutine form of group_send_sync."""
        await self._async(_c.BROADCAST_EVENT, group, _event_json(event))

    async def group_send_message(self, group, message):
        """Coroutine form of group_send_message_sync."""
        await self._async(_c.BROADCAST_MESSAGE, group, _event_json(message, "message"))

    def group_add_sync(self, group, channel):
        """Add a channel name to a group (Django's channel_layer.group_add)."""
        self._t.group_sync(True, group, channel)

    def group_discard_sync(self, group, channel):
        """Remove a channel name from a group."""
        self._t.group_sync(False, group, channel)

    async def group_add(self, group, channel):
        """Coroutine form of group_add_sync."""
        await asyncio.get_running_loop().run_in_executor(None, self.group_add_sync, group, channel)

    async def group_discard(self, group, channel):
        """Coroutine form of group_discard_sync."""
        await asyncio.get_running_loop().run_in_executor(
            None, self.group_discard_sync, group, channel)

    def stats(self):
        """This process's sends through the layer so far, as a dict:
        sends_taken (accepted), sends_ok and sends_failed (their outcomes),
        sends_pending (awaiting Redis's answer), sends_refused (failed at
        once), sends_waiting (held back until Redis has room), dropped
        (group sends not queued for a member whose queue was full) and
        backend_up (whether Redis can be reached now)."""
        return self._t.stats()

    def close(self):
        """Close the layer (also done at exit)."""
        self._t.close()
        _open_layers.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _settle(fut, status, message):
    if fut.cancelled():
        return
    if status == 0:
        fut.set_result(None)
        return
    fut.set_exception(_error(status, message))  # the blocking form's classes


def _error(status, message):
    cls = {-15: ChannelFull, -12: LayerUnavailable, -6: ConfigError, -17: BadName,
           -4: UnknownAlias, -3: LayerClosed, -1: ValueError}.get(status, Error)
    e = cls(message)
    e.code = status
    return e


class Consumer:
    """A consumer of the config: its layer alias and static groups, as the
    server uses them (Chanx's send_event/broadcast_event from anywhere)."""

    def __init__(self, config, name, layer, groups):
        self._config, self.name, self.layer_alias, self.groups = config, name, layer, groups

    def _targets(self, groups):
        if groups is None:
            groups = self.groups
        elif isinstance(groups, str):
            groups = [groups]
        if not groups:
            raise ValueError(f"consumer {self.name!r} has no groups: pass groups=[...]")
        return list(groups)

    def broadcast_event_sync(self, event, groups=None):
        """Send an event to the consumer's groups (default: its static ones)."""
        layer = self._config.layer(self.layer_alias)
        text = _event_json(event)
        for g in self._targets(groups):
            layer._sync(_c.BROADCAST_EVENT, g, text)

    def send_event_sync(self, event, channel_name):
        """Send an event to one client's channel name."""
        self._config.layer(self.layer_alias)._sync(_c.SEND_EVENT, channel_name, _event_json(event))

    async def broadcast_event(self, event, groups=None):
        """Coroutine form of broadcast_event_sync."""
        layer = self._config.layer(self.layer_alias)
        text = _event_json(event)
        for g in self._targets(groups):
            await layer._async(_c.BROADCAST_EVENT, g, text)

    async def send_event(self, event, channel_name):
        """Coroutine form of send_event_sync."""
        await self._config.layer(self.layer_alias)._async(
            _c.SEND_EVENT, channel_name, _event_json(event))


class Config:
    """A wschannels config document (the servers' own), ${VAR} expanded."""

    def __init__(self, text):
        self._text = text
        self.document = _json.loads(_c.parse_config(text))
        self._layers = {}
        self._lock = threading.Lock()
        _configs.add(self)

    def layer(self, alias="default"):
        """The layer `alias` (opened once, then shared)."""
        with self._lock:
            if alias not in self._layers:
                self._layers[alias] = Layer(self._text, alias)
            return self._layers[alias]

    def consumer(self, name):
        """The consumer `name`: its layer alias and groups from the config."""
        consumers = self.document.get("consumers", {})
        routed = {r.get("consumer") for r in _routes(self.document.get("routes", []))}
        if name not in consumers and name not in routed:
            raise UnknownAlias(f"config: no consumer called {name!r} (in 'consumers' or 'routes')")
        c = consumers.get(name, {})
        return Consumer(self, name, c.get("layer", "default"), list(c.get("groups", [])))

    def close(self):
        for layer in list(self._layers.values()):
            layer.close()
        self._layers.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _routes(routes):
    for r in routes:
        yield r
        yield from _routes(r.get("include", []))


def load_config(path):
    """Read a config file (see docs/config.md)."""
    with open(path, encoding="utf-8") as f:
        return Config(f.read())


_open_layers = set()
_configs = weakref.WeakSet()


def _after_fork_in_child():
    """A fork's child has no threads but its own: a lock another thread held
    at the fork would stay held. (Each layer reopens itself in the child.)"""
    for config in list(_configs):
        config._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close_all():
    for layer in list(_open_layers):
        layer.close()
