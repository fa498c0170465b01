"""The Django Channels peer of bench/bench_server: the seeds' chat consumer
on Django Channels 4 under daphne, from Debian's packages (python3-django-
channels, python3-channels-redis, daphne). One module is the whole project:

    PEER_LAYER=memory|redis_pubsub|redis PEER_REDIS_URL=redis://... \
      daphne -b 127.0.0.1 -p 8001 chatpeer:application   (from bench/peer)

/ws/chat: "chat" broadcasts {"action":"chat_notification","payload":
{"message":"💬 <message>"}} to the group "chat"; "echo" replies with its
payload; "ping" answers "pong"."""
import json
import os

import django
from django.conf import settings

LAYER = os.environ.get("PEER_LAYER", "memory")
REDIS = os.environ.get("PEER_REDIS_URL", "redis://127.0.0.1:6379/0")
BACKENDS = {
    "memory": {"BACKEND": "channels.layers.InMemoryChannelLayer"},
    "redis_pubsub": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                     "CONFIG": {"hosts": [REDIS]}},
    "redis": {"BACKEND": "channels_redis.core.RedisChannelLayer",
              "CONFIG": {"hosts": [REDIS], "capacity": 100000}},
}

if not settings.configured:
    settings.configure(
        DEBUG=False, SECRET_KEY="bench-only", ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=["channels"], ROOT_URLCONF=__name__,
        ASGI_APPLICATION=f"{__name__}.application",
        CHANNEL_LAYERS={"default": BACKENDS[LAYER]})
    django.setup()

urlpatterns = []

from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class ChatConsumer(AsyncJsonWebsocketConsumer):
    groups = ["chat"]

    @classmethod
    async def encode_json(cls, content):
        # UTF-8 on the wire, as Chanx and wschannels send it ("💬", not "\ud83d...")
        return json.dumps(content, ensure_ascii=False, separators=(",", ":"))

    async def receive_json(self, content, **kwargs):
        action = content.get("action")
        if action == "chat":
            message = content.get("payload", {}).get("message", "")
            await self.channel_layer.group_send("chat", {
                "type": "chat.notification",
                "message": {"action": "chat_notification",
                            "payload": {"message": f"💬 {message}"}}})
        elif action == "echo":
            await self.send_json({"action": "echo", "payload": content.get("payload")})
        elif action == "ping":
            await self.send_json({"action": "pong", "payload": None})

    async def chat_notification(self, event):
        await self.send_json(event["message"])


application = ProtocolTypeRouter({
    "websocket": URLRouter([path("ws/chat", ChatConsumer.as_asgi())]),
})
