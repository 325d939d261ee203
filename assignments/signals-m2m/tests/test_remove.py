"""counts-after-remove: removing tags, from the post's side and from the tag's side, lowers
both counts. Each test starts from posts and tags linked (and counted) without any signal, so
removing is judged even when adding is not counted."""

import _grader_assignment as blog


def _all_linked(label):
    posts = blog.new_posts("post1", "post2", "post3", label=label)
    tags = blog.new_tags("red", "green", "blue", label=label)
    blog.link(*[(post, tag) for post in posts for tag in tags])
    return posts, tags


def test_remove_from_post():
    with blog.others_left_alone("r1"):
        blog.adding_works("r1")
        (post1, post2, post3), (red, green, blue) = _all_linked("r1")
        blog.change(
            "post1.tags.remove(green, blue)",
            lambda: post1.tags.remove(green, blue),
            [(post1, 1), (post2, 3), (post3, 3), (red, 3), (green, 2), (blue, 2)],
            "remove",
            "post",
            other_writer=True,
        )
        blog.change(
            "post2.tags.remove(red, blue)",
            lambda: post2.tags.remove(red, blue),
            [(post1, 1), (post2, 1), (post3, 3), (red, 2), (green, 2), (blue, 1)],
            "remove",
            "post",
            other_writer=True,
        )
        blog.change(
            "post3.tags.remove(red, green)",
            lambda: post3.tags.remove(red, green),
            [(post1, 1), (post2, 1), (post3, 1), (red, 1), (green, 1), (blue, 1)],
            "remove",
            "post",
            other_writer=True,
        )


def test_remove_from_tag():
    with blog.others_left_alone("r2"):
        blog.adding_works("r2")
        (post1, post2, post3), (red, green, blue) = _all_linked("r2")
        blog.change(
            "red.posts.remove(post2, post3) (from the tag's side)",
            lambda: red.posts.remove(post2, post3),
            [(red, 1), (green, 3), (blue, 3), (post1, 3), (post2, 2), (post3, 2)],
            "remove",
            "tag",
            other_writer=True,
        )
        blog.change(
            "green.posts.remove(post1, post3) (from the tag's side)",
            lambda: green.posts.remove(post1, post3),
            [(red, 1), (green, 1), (blue, 3), (post1, 2), (post2, 2), (post3, 1)],
            "remove",
            "tag",
            other_writer=True,
        )
        blog.change(
            "blue.posts.remove(post1, post2) (from the tag's side)",
            lambda: blue.posts.remove(post1, post2),
            [(red, 1), (green, 1), (blue, 1), (post1, 1), (post2, 1), (post3, 1)],
            "remove",
            "tag",
            other_writer=True,
        )
