from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from grader.service import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="grading/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("submit/", views.submit, name="submit"),
    path("submissions/<int:pk>/", views.submission, name="submission"),
    path("submissions/<int:pk>/status.json", views.submission_status, name="submission-status"),
    path("submissions/<int:pk>/feedback/", views.feedback, name="feedback"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/data.json", views.dashboard_data, name="dashboard-data"),
    path("exports/<str:assignment>/<str:kind>.csv", views.export, name="export"),
    path("api/submissions", views.api_submit, name="api-submit"),
    path("api/submissions/<int:pk>", views.api_submission, name="api-submission"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("lti/", include("grader.service.lti.urls")),  # LTI 1.3: Moodle, Canvas (docs/lti.md)
]
