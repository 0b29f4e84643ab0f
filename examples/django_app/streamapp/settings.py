"""Settings of the example project: the least Django needs to serve two streaming views."""

SECRET_KEY = "example-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "streamapp.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
WSGI_APPLICATION = "streamapp.wsgi.application"
ASGI_APPLICATION = "streamapp.asgi.application"
