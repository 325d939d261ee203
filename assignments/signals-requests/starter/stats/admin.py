from django.contrib import admin

from .models import RequestStats

admin.site.register(RequestStats)
