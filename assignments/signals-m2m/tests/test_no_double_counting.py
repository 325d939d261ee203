"""no-double-counting: adding a tag a post already has, or removing one it does not have,
changes no count (only the rows really added or removed count). Each test starts from posts
and tags linked (and counted) without any signal."""

import _grader_assignment as blog


def test_add_again():
    with blog.others_left_alone("d1"):
        post1, post2 = blog.new_posts("post1", "post2", label="d1")
        red, green, blue = blog.new_tags("red", "green", "blue", label="d1")
        blog.link((post1, red), (post1, green), (post2, red))
        blog.change(
            "post1.tags.add(red) (post1 has red already)",
            lambda: post1.tags.add(red),
            [(post1, 2), (post2, 1), (red, 2), (green, 1), (blue, 0)],
            "readd",
            "post",
        )
        blog.change(
            "red.posts.add(post1, post2) (red has both already; from the tag's side)",
            lambda: red.posts.add(post1, post2),
            [(post1, 2), (post2, 1), (red, 2), (green, 1), (blue, 0)],
            "readd",
            "tag",
        )
        blog.change(
            "post1.tags.add(red, green, blue) (post1 has red and green already)",
            lambda: post1.tags.add(red, green, blue),
            [(post1, 3), (post2, 1), (red, 2), (green, 1), (blue, 1)],
            "readd",
            "post",
        )
        blog.change(
            "green.posts.add(post1, post2) (green has post1 already; from the tag's side)",
            lambda: green.posts.add(post1, post2),
            [(post1, 3), (post2, 2), (red, 2), (green, 2), (blue, 1)],
            "readd",
            "tag",
        )


def test_remove_absent():
    with blog.others_left_alone("d2"):
        post1, post2 = blog.new_posts("post1", "post2", label="d2")
        red, green = blog.new_tags("red", "green", label="d2")
        blog.link((post1, red), (post2, green))
        blog.change(
            "post1.tags.remove(green) (post1 does not have green)",
            lambda: post1.tags.remove(green),
            [(post1, 1), (post2, 1), (red, 1), (green, 1)],
            "absent",
            "post",
        )
        blog.change(
            "red.posts.remove(post2) (red does not have post2; from the tag's side)",
            lambda: red.posts.remove(post2),
            [(post1, 1), (post2, 1), (red, 1), (green, 1)],
            "absent",
            "tag",
        )
        blog.change(
            "post1.tags.remove(red, green) (post1 has red, not green)",
            lambda: post1.tags.remove(red, green),
            [(post1, 0), (post2, 1), (red, 0), (green, 1)],
            "absent",
            "post",
        )
        blog.change(
            "green.posts.remove(post1, post2) (green has post2, not post1; from the tag's side)",
            lambda: green.posts.remove(post1, post2),
            [(post1, 0), (post2, 0), (red, 0), (green, 0)],
            "absent",
            "tag",
        )
