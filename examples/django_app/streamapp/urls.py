from django.urls import path

from streamapp import views

urlpatterns = [
    path("stream", views.stream),
    path("astream", views.astream),
]
