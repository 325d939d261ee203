"""signals-m2m's own helpers for its hidden tests: the models of the rubric's roles (post, tag
and tagging, the many-to-many table), posts and tags made and linked without signals, counts
read back from the database, and the diagnosis of a wrong count. Imported by the hidden tests
as ``_grader_assignment`` (the core's helpers are ``_grader_harness.api``).

Every change a test makes goes through ``change()``: it reads the counts before, runs the
change as student code (an exception becomes feedback), records the SQL it caused (to tell a
count written on pre_add from one written on post_add), reads every count back with
refresh_from_db() and, when one is wrong, names the mistake from what happened, never from how
the receiver is spelled.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import re

from _grader_harness import api
from _grader_harness.api import fail

COUNT_FIELD = {"post": "tag_count", "tag": "post_count"}
# Tags get primary keys far from the posts' (1, 2, 3, ...): a receiver that mistakes the pks of
# pk_set for the other model's then finds nothing, instead of changing a stranger by chance.
_TAG_PKS = itertools.count(100_001)

# ----------------------------------------------------------------------------- the models


def _models_location() -> str:
    try:
        model = api.role_model("post")
        rel = api.relpath(inspect.getsourcefile(model) or "")
        return f"{rel}:{inspect.getsourcelines(model)[1]}" if rel else ""
    except Exception:
        return ""


def _models_changed(what: str) -> None:
    fail(
        f"blog/models.py no longer matches the exercise: {what}. Keep Tag (name, post_count) and "
        "Post (title, tags, tag_count) as the starter gives them: the counts live in those fields.",
        diagnosis="models-changed",
        location=_models_location(),
    )


def models():
    """(Post, Tag, Through): the models of the roles post, tag and tagging, checked against
    the exercise (a count field on each side, Post.tags a plain many-to-many to Tag)."""
    from django.core.exceptions import FieldDoesNotExist

    api.require_database()
    try:
        Post, Tag = api.role_model("post"), api.role_model("tag")
    except LookupError:
        fail(
            f"there is no model {api.run_state().models.get('post')} or {api.run_state().models.get('tag')}: keep the "
            "models of the starter in blog/models.py and 'blog' in INSTALLED_APPS.",
            diagnosis="models-changed",
        )
    for model, name in ((Post, "tag_count"), (Tag, "post_count")):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            _models_changed(f"{model.__name__}.{name} is missing")
        if field.get_internal_type() not in api.INTEGER_TYPES:
            _models_changed(f"{model.__name__}.{name} must stay a PositiveIntegerField")
    try:
        tags = Post._meta.get_field("tags")
    except FieldDoesNotExist:
        _models_changed("Post.tags is missing")
    if not tags.many_to_many or tags.related_model is not Tag:
        _models_changed("Post.tags must stay a ManyToManyField to Tag")
    through = tags.remote_field.through
    if through._meta.label != api.run_state().models.get("tagging"):
        _models_changed(
            f"Post.tags must keep the table Django makes for it ({api.run_state().models.get('tagging')}), "
            "without through="
        )
    if getattr(Tag, "posts", None) is None:
        _models_changed('Post.tags must keep related_name="posts" (tag.posts)')
    return Post, Tag, through


def _role(obj) -> str:
    return "post" if type(obj) is api.role_model("post") else "tag"


def name(obj) -> str:
    return getattr(obj, "_grader_name", f"{_role(obj)} {obj.pk}")


# ----------------------------------------------------------------------------- making objects


def new_posts(*names: str, label: str, track: bool = True) -> list:
    """Posts called `names` in the feedback (post1, post2, ...), each a fresh row."""
    Post, _, _ = models()
    posts = []
    for n in names:
        with api.student_code("Post.objects.create(title=...)"):
            post = Post._default_manager.create(title=f"{n} ({label})")
        post._grader_name = n
        if track:
            api.track(post, "post")
        posts.append(post)
    return posts


def new_tags(*names: str, label: str, track: bool = True) -> list:
    """Tags called `names` in the feedback (red, green, ...), with primary keys apart from
    the posts' (see _TAG_PKS)."""
    _, Tag, _ = models()
    tags = []
    for n in names:
        pk = next(_TAG_PKS)
        with api.student_code("Tag.objects.create(name=...)"):
            tag = Tag._default_manager.create(pk=pk, name=f"{n}-{label}-{pk}"[:50])
        tag._grader_name = n
        if track:
            api.track(tag, "tag")
        tags.append(tag)
    return tags


def link(*pairs) -> None:
    """Rows of the many-to-many table, written without any signal, then every count of the
    objects involved set to its real value (queryset.update() sends no signal either): the
    starting point of a test, whatever the student's receivers do with add()."""
    Post, _, Through = models()
    field = Post._meta.get_field("tags")
    source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
    Through._default_manager.bulk_create(
        [Through(**{f"{source}_id": post.pk, f"{target}_id": tag.pk}) for post, tag in pairs]
    )
    sync(*{o for pair in pairs for o in pair})


def real_count(obj) -> int:
    Post, _, Through = models()
    field = Post._meta.get_field("tags")
    column = field.m2m_field_name() if _role(obj) == "post" else field.m2m_reverse_field_name()
    return Through._default_manager.filter(**{f"{column}_id": obj.pk}).count()


def sync(*objs) -> None:
    for obj in objs:
        type(obj)._default_manager.filter(pk=obj.pk).update(**{COUNT_FIELD[_role(obj)]: real_count(obj)})


def read(obj) -> int:
    """The object's count as the database has it now, read by the grader's own connection
    (a count faked in memory, or put right only at the end of the run, is not there)."""
    value = api.stored_value(obj, COUNT_FIELD[_role(obj)])
    return -1 if value is None else int(value)


# ----------------------------------------------------------------------------- what a change did


class SqlLog:
    """The statements a change sent to the database, to tell when the counts were written:
    before Django wrote the many-to-many rows (pre_add, pre_remove, pre_clear) or after."""

    def __init__(self):
        Post, Tag, Through = models()
        self.tables = {"post": Post._meta.db_table, "tag": Tag._meta.db_table}
        self.through = Through._meta.db_table
        self.statements: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append(sql if isinstance(sql, str) else str(sql))
        return execute(sql, params, many, context)

    @contextlib.contextmanager
    def recording(self):
        from django.db import connection

        with connection.execute_wrapper(self):
            yield self

    def writes(self, role: str | None = None) -> list[int]:
        tables = [self.tables[role]] if role else list(self.tables.values())
        pattern = re.compile(r'^\s*UPDATE\s+"?(%s)"?\s' % "|".join(re.escape(t) for t in tables), re.I)
        return [i for i, sql in enumerate(self.statements) if pattern.match(sql)]

    def boundary(self) -> int | None:
        """Index of the first statement that changed the many-to-many table."""
        pattern = re.compile(r'^\s*(INSERT|DELETE)\b[^;]*?"?%s"?[\s(]' % re.escape(self.through), re.I)
        return next((i for i, sql in enumerate(self.statements) if pattern.match(sql)), None)

    def only_before_change(self) -> bool:
        cut, writes = self.boundary(), self.writes()
        return cut is not None and bool(writes) and all(i < cut for i in writes)


def receiver_location() -> str:
    """file:line of the student's m2m_changed receiver that is connected for Post.tags.through."""
    from django.db.models.signals import m2m_changed

    _, _, Through = models()
    live = api.live_receiver_keys(m2m_changed, Through)
    for c in api.run_state().connects:
        if c.student and c.signal is m2m_changed and c.receiver_key in live:
            return c.receiver_where or c.call_site
    return ""


def _receiver_connected() -> bool:
    from django.db.models.signals import m2m_changed

    _, _, Through = models()
    live = api.live_receiver_keys(m2m_changed, Through)
    return any(c.student and c.signal is m2m_changed and c.receiver_key in live for c in api.run_state().connects)


NO_RECEIVER = (
    "Nothing updated the counts: no m2m_changed receiver for Post.tags.through is connected "
    "when the app starts (see the check of the receiver's registration above)."
)


def _forward_counts_right(kind: str) -> bool:
    """Does the same change, made from the post's side on fresh objects, leave every count right?"""
    Post, Tag, _ = models()
    try:
        post = Post._default_manager.create(title="a post made to compare")
        a, b = (Tag._default_manager.create(pk=next(_TAG_PKS), name=f"compare-{n}-{next(_TAG_PKS)}") for n in "ab")
        if kind == "add":
            post.tags.add(a, b)
            want = {post: 2, a: 1, b: 1}
        elif kind == "remove":
            link((post, a), (post, b))
            post.tags.remove(a)
            want = {post: 1, a: 0, b: 1}
        elif kind == "clear":
            link((post, a), (post, b))
            post.tags.clear()
            want = {post: 0, a: 0, b: 0}
        else:  # set
            link((post, a))
            post.tags.set([b])
            want = {post: 1, a: 0, b: 1}
        return all(read(o) == n for o, n in want.items())
    except Exception:
        return False


def _counted_on_add(role: str) -> bool:
    """Does adding, from either side, change the count of `role` (post or tag) at all?"""
    Post, Tag, _ = models()
    try:
        post1, post2 = (Post._default_manager.create(title="a post made to compare") for _ in range(2))
        tag1, tag2 = (
            Tag._default_manager.create(pk=next(_TAG_PKS), name=f"compare-{next(_TAG_PKS)}") for _ in range(2)
        )
        post1.tags.add(tag1)
        tag2.posts.add(post2)
        return any(read(o) == 1 for o in ((post1, post2) if role == "post" else (tag1, tag2)))
    except Exception:
        return False


def _count_text(obj, value: int, want: int) -> str:
    field = COUNT_FIELD[_role(obj)]
    what = "tag" if _role(obj) == "post" else "post"
    return f"{name(obj)}.{field} is {value} but it has {want} {what}{'' if want == 1 else 's'}"


WHY = {
    "add-not-counted": "Your receiver must update both counts on post_add: the post's tag_count and the "
    "post_count of every tag in pk_set (from the tag's side: the other way round).",
    "remove-not-counted": "Handle post_remove too: removing tags must lower the counts, on both sides.",
    "count-wrong": "Count again with .count() after the change (on post_add, post_remove, post_clear), "
    "or add and subtract exactly the rows that changed.",
    "re-add-counted": "Django sends m2m_changed even when nothing is added: pk_set then holds only the "
    "primary keys that were really added (here none, or only the new ones). Update "
    "the objects in pk_set, or count again; do not add 1 per call or to every "
    "related object.",
    "absent-remove-counted": "For remove, Django puts in pk_set every primary key you pass, also those "
    "that were not linked, so len(pk_set) is not the number of rows removed. "
    "Count again with .count() on post_remove, or on pre_remove find which of "
    "pk_set are really linked.",
}


def expect(how: str, wants: list, before: dict, kind: str, side: str, log: SqlLog | None) -> None:
    """Every (object, count) of `wants` as the database has it after `how`; otherwise fail
    with the mistake that explains what happened."""
    got = [(obj, want, read(obj)) for obj, want in wants]
    wrong = [(obj, want, value) for obj, want, value in got if value != want]
    if not wrong:
        return
    shown = "; ".join(_count_text(obj, value, want) for obj, want, value in wrong[:4])
    if len(wrong) > 4:
        shown += f"; and {len(wrong) - 4} more"
    diagnosis, why = diagnose(kind, side, got, wrong, before, log)
    fail(f"after {how}: {shown}. {why}", diagnosis=diagnosis, location=receiver_location())


def diagnose(kind: str, side: str, got: list, wrong: list, before: dict, log: SqlLog | None) -> tuple[str, str]:
    stale = all(value == before.get(obj) for obj, _, value in wrong)
    if not _receiver_connected():
        return {
            "add": "add-not-counted",
            "remove": "remove-not-counted",
            "clear": "clear-not-handled",
            "readd": "re-add-counted",
            "absent": "absent-remove-counted",
        }.get(kind, "count-wrong"), NO_RECEIVER
    if kind in ("add", "remove", "clear") and stale and log is not None and log.only_before_change():
        pre, post = {
            "add": ("pre_add", "post_add"),
            "remove": ("pre_remove", "post_remove"),
            "clear": ("pre_clear", "post_clear"),
        }[kind]
        return (
            "counted-before-change",
            f"Your receiver wrote the counts on {pre}, before Django changed the rows of the "
            f"many-to-many table, so it counted the rows as they were. Update the counts on {post} "
            "(the `action` argument says which one Django is sending).",
        )
    if side == "tag" and kind in ("add", "remove", "clear", "set") and _forward_counts_right(kind):
        return (
            "reverse-ignored",
            "This change was made from the tag's side, and the same change made from the post's "
            "side is counted right: your receiver ignores `reverse`. From the tag's side Django "
            "calls it with reverse=True, instance = the tag and pk_set = primary keys of posts, "
            "not of tags. Check `reverse` and update the tag's post_count and the tag_count of "
            "the posts in pk_set.",
        )
    for role in ("post", "tag"):
        others = [obj for obj, _, _ in got if _role(obj) != role]
        mine = [(obj, value) for obj, _, value in got if _role(obj) == role]
        if (
            wrong
            and all(_role(obj) == role for obj, _, _ in wrong)
            and others
            and all(value == before.get(obj) for obj, value in mine)
            and (log is None or not log.writes(role))
            and not _counted_on_add(role)
        ):
            field, other = (
                ("Post.tag_count", "Tag.post_count") if role == "post" else ("Tag.post_count", "Post.tag_count")
            )
            return (
                "one-count-only",
                f"{other} is kept right, but {field} does not change. Every change of post.tags "
                "changes a count on both sides: the post's tag_count and each tag's post_count.",
            )
    if kind == "clear":
        return (
            "clear-not-handled",
            "On a clear Django sends pk_set=None, and after post_clear the rows are gone, so "
            "pk_set cannot tell you who lost them. On pre_clear, note the primary keys of the "
            "related objects (instance.tags or instance.posts) and update them on post_clear, or "
            "count every post and tag again on post_clear.",
        )
    if kind == "add" and stale:
        return "add-not-counted", WHY["add-not-counted"]
    if kind == "remove" and stale:
        return "remove-not-counted", WHY["remove-not-counted"]
    if kind == "readd":
        return "re-add-counted", WHY["re-add-counted"]
    if kind == "absent":
        return "absent-remove-counted", WHY["absent-remove-counted"]
    return "count-wrong", WHY["count-wrong"]


def change(how: str, action, wants: list, kind: str, side: str, other_writer: bool = False) -> None:
    """Run `action` (a change of the relation, `how` in the student's terms) as student code,
    then expect every count of `wants` ([(object, count)]).

    kind: add | remove | clear | set | readd (adding what is there) | absent (removing what is
    not there); side: the side the change is made from, post or tag. `other_writer`: another
    writer edits the posts' titles and the tags' names between the receiver's reads and its
    first write of each table (see OtherWriter), and the edits must be kept."""
    before = {obj: read(obj) for obj, _ in wants}
    log = SqlLog()
    writer = OtherWriter([obj for obj, _ in wants]) if other_writer else None
    with (
        log.recording(),
        writer.writing() if writer else contextlib.nullcontext(),
        api.student_code(how, when=f"{kind}:{side}"),
    ):
        action()
    expect(how, wants, before, kind, side, log)
    if writer:
        writer.expect_kept(how)


# ----------------------------------------------------------------------------- another writer


class OtherWriter:
    """Another request of the site, at the same time: right before the receiver's first UPDATE
    of the post table (and of the tag table), it edits the title of every post of the change
    (the name of every tag) with an UPDATE of its own. A receiver that writes only its count
    (`queryset.update(tag_count=...)`, `save(update_fields=["tag_count"])`) keeps the edit; one
    that loaded the object, changed its count (with F() or a number) and called save() writes
    every field back as it read it, and the edit is lost (a lost update)."""

    FIELDS = {"post": "title", "tag": "name"}

    def __init__(self, objs):
        from django.db import connection

        Post, Tag, _ = models()
        qn = connection.ops.quote_name
        self.objs = list(objs)
        self.tables = {}
        for role, model in (("post", Post), ("tag", Tag)):
            try:
                column = model._meta.get_field(self.FIELDS[role]).column
            except Exception:
                continue
            pks = [o.pk for o in self.objs if _role(o) == role]
            if pks:
                self.tables[model._meta.db_table.lower()] = (
                    role,
                    f"UPDATE {qn(model._meta.db_table)} SET {qn(column)} = {qn(column)} || '*' "
                    f"WHERE {qn(model._meta.pk.column)} IN ({', '.join(str(int(pk)) for pk in pks)})",
                )
        self.done: dict[str, str] = {}  # role -> the student's line that wrote next
        self.before = {o: api.stored_value(o, self.FIELDS[_role(o)]) for o in self.objs}

    def __call__(self, execute, sql, params, many, context):
        if isinstance(sql, str):
            match = re.match(r'^\s*UPDATE\s+["`]?(\w+)["`]?\s', sql, re.I)
            entry = self.tables.get(match.group(1).lower()) if match else None
            if entry and entry[0] not in self.done:
                self.done[entry[0]] = _student_line()
                execute(entry[1], None, False, context)
        return execute(sql, params, many, context)

    @contextlib.contextmanager
    def writing(self):
        from django.db import connection

        with connection.execute_wrapper(self):
            yield self

    def expect_kept(self, how: str) -> None:
        lost = []
        for obj in self.objs:
            role = _role(obj)
            if role not in self.done or self.before[obj] is None:
                continue
            now = api.stored_value(obj, self.FIELDS[role])
            if now != f"{self.before[obj]}*":
                lost.append((obj, role))
        if not lost:
            return
        obj, role = lost[0]
        count = COUNT_FIELD[role]
        model = "Post" if role == "post" else "Tag"
        where = self.done[role]
        shown = ", ".join(f"{name(o)}.{self.FIELDS[r]}" for o, r in lost[:4])
        fail(
            f"after {how}: the counts are right, but another writer's change was lost. While your "
            f"receiver ran, another request of the site changed {shown} between your receiver's read "
            f"of the row and its write{f' ({where})' if where else ''}, and your receiver wrote the "
            f"old values back: it changed {count} on an object it had loaded (or on `instance`) and "
            f"called save(), which writes every field of the object as it was read. Write only the "
            f"count: `{model}.objects.filter(pk=...).update({count}=...)`, or "
            f'`obj.save(update_fields=["{count}"])`.',
            diagnosis="stale-fields-saved",
            location=where or receiver_location(),
        )


def _student_line() -> str:
    """file:line of the innermost frame of the project's code that is running now."""
    import sys

    return api.student_line(sys._getframe(2))


def adding_works(label: str) -> None:
    """The main path first: adding a tag to a post (from the post's side) must not raise. Removing
    and clearing start from tagged posts; a receiver that raises whenever a post is tagged breaks
    them for every user, so they earn nothing until adding works (the counts are judged by
    counts-after-add, not here). Rolled back: whatever the receiver wrote here, right or wrong
    (a queryset.update() without .filter()), is not this check's business."""
    from django.db import transaction

    with transaction.atomic():
        (post,) = new_posts("a post tagged first", label=label, track=False)
        (tag,) = new_tags("a tag added first", label=label, track=False)
        with api.student_code(
            "tagging a new post first (one tag added from the post's side, before the change this check is about)",
            when="mainpath:post",
        ):
            post.tags.add(tag)
        transaction.set_rollback(True)


# ----------------------------------------------------------------------------- other objects


@contextlib.contextmanager
def others_left_alone(label: str):
    """Counts of posts and tags the test does not touch must stay as they are.

    A receiver that updates every row (a queryset.update() without .filter()) is caught here,
    by the test that made it happen, and what it broke is put back as it was: a later test must
    never change what an earlier one left in the database (the grader checks that afterwards).
    Counts that were wrong and become right (a receiver that counts every row again) are fine.
    """
    Post, Tag, _ = models()
    (bystander,) = new_posts("a post the test never changes", label=label, track=False)
    (lone_tag,) = new_tags("a tag the test never changes", label=label, track=False)
    link((bystander, lone_tag))
    snapshot = {
        (model, pk): value
        for model, field in ((Post, "tag_count"), (Tag, "post_count"))
        for pk, value in model._default_manager.values_list("pk", field)
    }
    failed = False
    try:
        yield
    except BaseException:
        failed = True
        raise
    finally:
        broken = []
        for (model, pk), value in snapshot.items():
            field = "tag_count" if model is Post else "post_count"
            row = model._default_manager.filter(pk=pk).values_list(field, flat=True).first()
            if row is None or row == value:
                continue
            obj = model(pk=pk)
            if row != real_count(obj):
                model._default_manager.filter(pk=pk).update(**{field: value})
                broken.append(
                    f"a {'post' if model is Post else 'tag'} that was not part of any change "
                    f"had its {field} changed from {value} to {row}"
                )
        if broken and not failed:
            fail(
                f"while this check ran, your receiver also changed objects it had nothing to do with: "
                f"{'; '.join(broken[:3])}{'; and more' if len(broken) > 3 else ''}. Update only "
                "`instance` and the objects whose primary keys are in pk_set (a queryset.update() "
                "without .filter(...) changes every row of the table).",
                diagnosis="unrelated-counts-changed",
                location=receiver_location(),
            )


# ----------------------------------------------------------------------------- other relations

OTHER_RELATION = (
    "Your m2m_changed receiver also runs for {what}, a many-to-many relation of "
    "django.contrib.auth, not Post.tags: connected without sender=, it is called for "
    "every many-to-many relation of the project, with instance = a user or a group and "
    "pk_set = primary keys of groups or users, which it takes for posts and tags. Connect "
    'it with sender=Post.tags.through (or "blog.Post_tags") so that Django calls it for '
    "post.tags only."
)
_AUTO_FIELDS = ("AutoField", "BigAutoField", "SmallAutoField")


def user_and_group(post, tag):
    """(user, group, accessor): a fresh user of the project's user model and a fresh group of
    django.contrib.auth, for changes of another many-to-many relation (user.groups), and the
    name of the group's side of it (user_set). The user gets the post's primary key and the group
    the tag's when those are free, so a receiver that takes the user for a post (and the group for
    a tag) changes those counts instead of finding nothing. Skips the test when the project has no
    user.groups (django.contrib.auth not installed, a user model without PermissionsMixin)."""
    from django.apps import apps
    from django.core.exceptions import FieldDoesNotExist

    if not apps.is_installed("django.contrib.auth"):
        api.skip(
            "django.contrib.auth is not in INSTALLED_APPS, so the project has no other "
            "many-to-many relation (user.groups) to change: not checked"
        )
    User = api.user_model()
    try:
        field = User._meta.get_field("groups")
    except FieldDoesNotExist:
        field = None
    if field is None or not field.many_to_many:
        api.skip(
            "your user model has no groups (user.groups), so the project has no other "
            "many-to-many relation to change: not checked"
        )
    Group = field.related_model

    def same_pk(model, pk):
        free = not model._default_manager.filter(pk=pk).exists()
        return {"pk": pk} if free and model._meta.pk.get_internal_type() in _AUTO_FIELDS else {}

    fields = api.fields_for("other-relation")
    with api.student_code("creating a user (User.objects.create(...)) for user.groups"):
        user = User._default_manager.create(**same_pk(User, post.pk), **fields)
    with api.student_code("creating a group (Group.objects.create(name=...)) for user.groups"):
        group = Group._default_manager.create(
            **same_pk(Group, tag.pk), name=f"{api.run_state().token}-group-{tag.pk}"[:150]
        )
    return user, group, field.remote_field.get_accessor_name()


def other_relation_change(how: str, action, wants: list, user, group) -> None:
    """Run `action`, a change of user.groups (`how`) between `user` and `group`, as student code:
    it must raise nothing and leave every count of `wants` ([(object, count)]) as it is."""
    what = how.partition("(")[0].rpartition(".")[0] or how
    with api.student_code(f"{how} (a change of a user's groups, not of any post's tags)", when=f"other:{what}"):
        action()
    got = [(obj, want, read(obj)) for obj, want in wants]
    wrong = [(obj, want, value) for obj, want, value in got if value != want]
    if not wrong:
        return
    shown = "; ".join(
        f"{name(obj)}.{COUNT_FIELD[_role(obj)]} went from {want} to {value}" for obj, want, value in wrong
    )
    shared = [name(o) for o, _, _ in wrong if o.pk == (user.pk if _role(o) == "post" else group.pk)]
    why = (
        (f" ({' and '.join(shared)} only share{'s' if len(shared) == 1 else ''} a primary key with that user or group)")
        if shared
        else ""
    )
    fail(
        f"after {how}: {shown}, though no post's tags changed{why}. " + OTHER_RELATION.format(what=what),
        diagnosis="receiver-without-sender",
        location=receiver_location(),
    )


# ----------------------------------------------------------------------------- explanations


def explain(exc: Exception, when: str) -> tuple[str, str] | None:
    """Errors only this exercise can name (EXPLAINERS below): a receiver that treats a
    tag as a post, pk_set used on a clear, a count pushed below zero."""
    from django.db import IntegrityError

    kind, _, side = when.partition(":")
    if kind == "other":
        # a change of user.groups: only a receiver connected for every sender runs there
        return ("receiver-without-sender", OTHER_RELATION.format(what=side)) if api.in_receiver(exc) else None
    if not side:
        return None
    text = str(exc)
    if isinstance(exc, NotImplementedError):
        return (
            "side-not-implemented",
            f"This change was made from the {side}'s side"
            + (
                " (reverse=True: instance is the tag, pk_set holds primary keys of posts)"
                if side == "tag"
                else " (reverse=False: instance is the post, pk_set holds primary keys of tags)"
            )
            + ", and your receiver raises NotImplementedError there: that side is not written "
            "yet. Both sides are part of the exercise; replace the raise with the counting for "
            "that side.",
        )
    if kind == "mainpath":
        return (
            "add-raises",
            "Adding a tag to a post is the main path: every post is tagged before its tags are "
            "removed or cleared, so this check is not graded while adding raises. Fix the error "
            "on post_add first (the check of adding shows it too).",
        )
    tag_model = api.run_state().models.get("tag", "").rpartition(".")[2]
    if side == "tag" and isinstance(exc, AttributeError) and f"'{tag_model}' object has no attribute" in text:
        return (
            "reverse-ignored",
            "This change was made from the tag's side: Django then calls your receiver with "
            "reverse=True, instance = the tag (not a post) and pk_set = primary keys of posts. "
            "Check `reverse` and treat the two sides differently.",
        )
    if kind in ("clear", "set") and isinstance(exc, TypeError) and "NoneType" in text:
        return (
            "clear-not-handled",
            "On a clear Django sends pk_set=None: there is no set of primary keys to loop over or "
            "measure. On pre_clear, note the primary keys of the related objects and update them "
            "on post_clear, or count every post and tag again on post_clear.",
        )
    if (
        isinstance(exc, IntegrityError)
        and "check constraint" in text.lower()
        and ("tag_count" in text or "post_count" in text)
    ):
        if kind == "absent":
            return (
                "absent-remove-counted",
                "A count would have gone below zero: your receiver subtracted for rows that were "
                "never there. " + WHY["absent-remove-counted"],
            )
        return (
            "count-wrong",
            "A count would have gone below zero (a PositiveIntegerField refuses it): your receiver "
            "subtracted more than was removed. " + WHY["count-wrong"],
        )
    return None


EXPLAINERS = (explain,)  # read by the harness's plugin (see _grader_harness.api)

# Words for what the registration check finds (api.registration_problem's advice).
REGISTRATION_ADVICE = {
    "wrong-sender": "m2m_changed is sent with sender = the model of the many-to-many table, "
    "Post.tags.through (Django calls it blog.Post_tags), never with Post or Tag: use "
    'sender=Post.tags.through, or the string "blog.Post_tags".',
    "wrong-signal": "Tags are added after a post is saved (post.tags.add() saves nothing of the post), "
    "so save signals never see them: listen to m2m_changed with "
    "sender=Post.tags.through.",
    "connected-outside-ready": "Tags added before that are never counted.",
}
