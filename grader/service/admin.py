"""Django's admin for instructors: courses, students, tokens (made here, shown once), submissions
(regrade, see the full feedback), extensions and overrides."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from grader.service.auth import end_sessions, new_token
from grader.service.models import (
    Course,
    Extension,
    LtiGrade,
    LtiIdentity,
    LtiPlatform,
    Override,
    Student,
    Submission,
    Token,
)


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("name", "loaded_at")
    readonly_fields = ("rules", "loaded_at")


class TokenInline(admin.TabularInline):
    model = Token
    extra = 0
    fields = ("prefix", "label", "created", "last_used", "revoked")
    readonly_fields = ("prefix", "created", "last_used")


@admin.register(Student)
class StudentAdmin(admin.ModelAdmin):
    list_display = ("student_id", "name", "github", "repository")
    search_fields = ("student_id", "name", "github", "repository")
    inlines = [TokenInline]
    actions = ["make_token"]

    @admin.action(description="Make a new token for each (shown once)")
    def make_token(self, request, queryset):
        for student in queryset:
            token = new_token(student, label=f"made by {request.user.get_username()}")
            self.message_user(request, f"{student.student_id}: {token}", messages.WARNING)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        # a token revoked or deleted here signs the student out of the web (auth.revoke)
        if formset.model is Token and (
            formset.deleted_objects or any(f.instance.revoked and "revoked" in f.changed_data for f in formset.forms)
        ):
            end_sessions(form.instance)


@admin.register(Token)
class TokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "student", "label", "created", "last_used", "revoked")
    list_filter = ("revoked",)
    readonly_fields = ("prefix", "digest", "created", "last_used")
    search_fields = ("student__student_id", "prefix")

    # a token revoked or deleted here signs its student out of the web (auth.revoke)
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if obj.revoked and "revoked" in form.changed_data:
            end_sessions(obj.student)

    def delete_model(self, request, obj):
        student = obj.student
        super().delete_model(request, obj)
        end_sessions(student)

    def delete_queryset(self, request, queryset):
        students = list(Student.objects.filter(tokens__in=queryset).distinct())
        super().delete_queryset(request, queryset)
        for student in students:
            end_sessions(student)


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("pk", "student", "assignment", "created", "source", "status", "score", "max_score", "attempts")
    list_filter = ("assignment", "status", "source")
    search_fields = ("student__student_id", "sha256")
    readonly_fields = (
        "student",
        "assignment",
        "created",
        "source",
        "commit",
        "sha256",
        "size",
        "status",
        "attempts",
        "claimed_by",
        "job_id",
        "started",
        "finished",
        "score",
        "max_score",
        "error",
        "feedback",
    )
    exclude = ("archive",)
    actions = ["regrade"]

    @admin.display(description="feedback")
    def feedback(self, obj):
        if not obj.report:
            return "—"
        return format_html('<a href="/submissions/{}/feedback/?all=1">the full report</a>', obj.pk)

    @admin.action(description="Grade again (queued; the report is replaced)")
    def regrade(self, request, queryset):
        n = queryset.exclude(status__in=[Submission.QUEUED, Submission.GRADING]).update(
            status=Submission.QUEUED,
            attempts=0,
            claimed_by="",
            job_id="",
            error="",
            started=None,
            finished=None,
        )
        self.message_user(request, f"{n} submission(s) queued to be graded again at {timezone.now():%H:%M:%S}")

    def has_add_permission(self, request):
        return False


@admin.register(Extension)
class ExtensionAdmin(admin.ModelAdmin):
    list_display = ("student", "assignment", "due", "reason")
    list_filter = ("assignment",)
    search_fields = ("student__student_id",)


@admin.register(Override)
class OverrideAdmin(admin.ModelAdmin):
    list_display = ("student", "assignment", "score", "reason", "by", "created")
    list_filter = ("assignment",)
    search_fields = ("student__student_id",)
    readonly_fields = ("by", "created")

    def save_model(self, request, obj, form, change):
        obj.by = request.user.get_username()
        super().save_model(request, obj, form, change)


# ----------------------------------------------------------------------------- LTI 1.3 (docs/lti.md)


@admin.register(LtiPlatform)
class LtiPlatformAdmin(admin.ModelAdmin):
    list_display = ("name", "issuer", "client_id", "active", "created")
    list_filter = ("active",)
    readonly_fields = ("created", "tool_urls")
    fieldsets = [
        (None, {"fields": ("name", "active", "tool_urls")}),
        (
            "What the platform shows for this tool",
            {
                "fields": (
                    "issuer",
                    "client_id",
                    "deployment_ids",
                    "auth_login_url",
                    "auth_token_url",
                    "auth_audience",
                    "key_set_url",
                )
            },
        ),
        ("Courses", {"fields": ("contexts", "created")}),
    ]

    @admin.display(description="this tool's URLs")
    def tool_urls(self, obj):
        return format_html('<a href="/lti/">the URLs to paste into the platform</a>')


@admin.register(LtiIdentity)
class LtiIdentityAdmin(admin.ModelAdmin):
    list_display = ("sub", "name", "email", "platform", "student", "staff", "last_launch")
    list_filter = ("platform", "staff")
    search_fields = ("sub", "name", "email", "student__student_id")
    readonly_fields = ("platform", "sub", "user", "name", "email", "roles", "staff", "last_launch")
    autocomplete_fields = ("student",)

    def has_add_permission(self, request):
        return False


@admin.register(LtiGrade)
class LtiGradeAdmin(admin.ModelAdmin):
    list_display = ("identity", "assignment", "status", "score_given", "score_maximum", "attempts", "sent_at")
    list_filter = ("status", "assignment")
    search_fields = ("identity__sub", "identity__name", "identity__student__student_id")
    readonly_fields = (
        "identity",
        "assignment",
        "context_id",
        "resource_link_id",
        "lineitem",
        "lineitems",
        "scopes",
        "status",
        "trigger",
        "score_given",
        "score_maximum",
        "attempts",
        "error",
        "sent_at",
        "updated",
    )
    actions = ["send_again"]

    @admin.action(description="Send again to the platform")
    def send_again(self, request, queryset):
        from grader.service.lti import passback

        n = queryset.update(status=LtiGrade.PENDING, trigger=None, updated=timezone.now())
        passback.kick()
        self.message_user(request, f"{n} grade(s) to be sent again (their status follows here)")

    def has_add_permission(self, request):
        return False
