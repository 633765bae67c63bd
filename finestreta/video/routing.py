"""WebSocket addresses of the video app (docs/signaling.md)."""

from django.urls import path

from finestreta.video.consumers import LobbyConsumer, RoomConsumer

websocket_urlpatterns = [
    path("ws/<slug:org>/video/lobby/", LobbyConsumer.as_asgi()),
    path("ws/<slug:org>/video/<str:room>/", RoomConsumer.as_asgi()),
]
