"""counts-after-clear-and-set: clear() from either side (pk_set is None), and set() with and
without clear=True (Django turns it into clear/remove and add). Each test starts from posts and
tags linked (and counted) without any signal."""

import _grader_assignment as blog


def _all_linked(label):
    posts = blog.new_posts("post1", "post2", "post3", label=label)
    tags = blog.new_tags("red", "green", "blue", label=label)
    blog.link(*[(post, tag) for post in posts for tag in tags])
    return posts, tags


def test_clear_from_post():
    with blog.others_left_alone("c1"):
        blog.adding_works("c1")
        (post1, post2, post3), (red, green, blue) = _all_linked("c1")
        blog.change(
            "post1.tags.clear()",
            post1.tags.clear,
            [(post1, 0), (post2, 3), (post3, 3), (red, 2), (green, 2), (blue, 2)],
            "clear",
            "post",
        )
        blog.change(
            "post2.tags.clear()",
            post2.tags.clear,
            [(post1, 0), (post2, 0), (post3, 3), (red, 1), (green, 1), (blue, 1)],
            "clear",
            "post",
        )
        blog.change(
            "post3.tags.clear()",
            post3.tags.clear,
            [(post1, 0), (post2, 0), (post3, 0), (red, 0), (green, 0), (blue, 0)],
            "clear",
            "post",
        )
        blog.change(
            "post3.tags.clear() again (it has no tags left)",
            post3.tags.clear,
            [(post1, 0), (post2, 0), (post3, 0), (red, 0), (green, 0), (blue, 0)],
            "clear",
            "post",
        )


def test_clear_from_tag():
    with blog.others_left_alone("c2"):
        blog.adding_works("c2")
        (post1, post2, post3), (red, green, blue) = _all_linked("c2")
        blog.change(
            "red.posts.clear() (from the tag's side)",
            red.posts.clear,
            [(red, 0), (green, 3), (blue, 3), (post1, 2), (post2, 2), (post3, 2)],
            "clear",
            "tag",
        )
        blog.change(
            "green.posts.clear() (from the tag's side)",
            green.posts.clear,
            [(red, 0), (green, 0), (blue, 3), (post1, 1), (post2, 1), (post3, 1)],
            "clear",
            "tag",
        )
        blog.change(
            "blue.posts.clear() (from the tag's side)",
            blue.posts.clear,
            [(red, 0), (green, 0), (blue, 0), (post1, 0), (post2, 0), (post3, 0)],
            "clear",
            "tag",
        )


def test_set_from_post():
    with blog.others_left_alone("s1"):
        blog.adding_works("s1")
        post1, post2 = blog.new_posts("post1", "post2", label="s1")
        red, green, blue = blog.new_tags("red", "green", "blue", label="s1")
        blog.link((post1, red), (post1, green), (post2, green))
        blog.change(
            "post1.tags.set([green, blue]) (post1 had red and green)",
            lambda: post1.tags.set([green, blue]),
            [(post1, 2), (post2, 1), (red, 0), (green, 2), (blue, 1)],
            "set",
            "post",
        )
        blog.change(
            "post2.tags.set([red, blue], clear=True) (post2 had green)",
            lambda: post2.tags.set([red, blue], clear=True),
            [(post1, 2), (post2, 2), (red, 1), (green, 1), (blue, 2)],
            "set",
            "post",
        )


def test_set_from_tag():
    with blog.others_left_alone("s2"):
        blog.adding_works("s2")
        post1, post2, post3 = blog.new_posts("post1", "post2", "post3", label="s2")
        red, green = blog.new_tags("red", "green", label="s2")
        blog.link((post1, red), (post2, red), (post2, green))
        blog.change(
            "red.posts.set([post2, post3]) (red had post1 and post2; from the tag's side)",
            lambda: red.posts.set([post2, post3]),
            [(red, 2), (green, 1), (post1, 0), (post2, 2), (post3, 1)],
            "set",
            "tag",
        )
        blog.change(
            "green.posts.set([post1, post3], clear=True) (green had post2; from the tag's side)",
            lambda: green.posts.set([post1, post3], clear=True),
            [(red, 2), (green, 2), (post1, 1), (post2, 1), (post3, 2)],
            "set",
            "tag",
        )
