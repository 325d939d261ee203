from django.urls import path

from grader.service.lti import views

urlpatterns = [
    path("", views.config, name="lti-config"),
    path("login/", views.login, name="lti-login"),
    path("launch/", views.launch, name="lti-launch"),
    path("deep-link/", views.deep_link, name="lti-deep-link"),
    path("jwks.json", views.jwks, name="lti-jwks"),
]
