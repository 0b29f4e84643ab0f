from django.urls import path

from streamapp import views

urlpatterns = [
    path("", views.page),
    path("chat", views.chat),
    path("api/chat", views.ai_sdk_chat),
    path("stream", views.stream),
    path("astream", views.astream),
]
