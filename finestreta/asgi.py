"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finestreta.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from finestreta.lib.asgi_observability import ObservedWebSockets  # noqa: E402
from finestreta.lib.webserver import settle  # noqa: E402
from finestreta.queueing.consumers import DeskConsumer  # noqa: E402
from finestreta.video.routing import websocket_urlpatterns as video_websockets  # noqa: E402

websocket_urlpatterns: list = [
    *video_websockets,
    path("ws/<slug:org>/desk/", DeskConsumer.as_asgi()),
]

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": ObservedWebSockets(
            AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)

settle()
