"""
URL configuration for mysite project.

The `urlpatterns` list routes URLs to views. For more information please see:
    https://docs.djangoproject.com/en/5.2/topics/http/urls/
"""
from django.contrib import admin
from django.urls import path

from stats import views

urlpatterns = [
    path('admin/', admin.site.urls),
    path('', views.home, name='home'),            # a page: shows the counts
    path('boom/', views.boom, name='boom'),       # a view that raises: a 500
    path('stream/', views.stream, name='stream'), # a streaming response
]
