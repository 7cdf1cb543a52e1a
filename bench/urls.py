"""The platform's URLs plus the baselines, served by the same server process so a
benchmark compares two requests that share everything but the work measured."""

from django.urls import path

from bench import views
from config.urls import urlpatterns as platform_urlpatterns

urlpatterns = [
    path("bench/baseline/insert/", views.baseline_insert, name="bench-baseline-insert"),
    path("bench/baseline/parse/", views.baseline_parse, name="bench-baseline-parse"),
    path("bench/baseline/ping/", views.baseline_ping, name="bench-baseline-ping"),
    *platform_urlpatterns,
]
