"""counts-after-add: adding tags, from the post's side and from the tag's side, raises both
counts: the post's tag_count and each tag's post_count."""

import _grader_assignment as blog


def test_add_from_post():
    with blog.others_left_alone("a1"):
        post1, post2 = blog.new_posts("post1", "post2", label="a1")
        red, green = blog.new_tags("red", "green", label="a1")
        blog.change(
            "post1.tags.add(red, green)",
            lambda: post1.tags.add(red, green),
            [(post1, 2), (post2, 0), (red, 1), (green, 1)],
            "add",
            "post",
            other_writer=True,
        )
        blog.change(
            "post2.tags.add(red, green)",
            lambda: post2.tags.add(red, green),
            [(post1, 2), (post2, 2), (red, 2), (green, 2)],
            "add",
            "post",
            other_writer=True,
        )


def test_add_from_tag():
    with blog.others_left_alone("a2"):
        post1, post2 = blog.new_posts("post1", "post2", label="a2")
        red, green = blog.new_tags("red", "green", label="a2")
        blog.change(
            "red.posts.add(post1, post2) (from the tag's side)",
            lambda: red.posts.add(post1, post2),
            [(red, 2), (green, 0), (post1, 1), (post2, 1)],
            "add",
            "tag",
            other_writer=True,
        )
        blog.change(
            "green.posts.add(post1, post2) (from the tag's side)",
            lambda: green.posts.add(post1, post2),
            [(red, 2), (green, 2), (post1, 2), (post2, 2)],
            "add",
            "tag",
            other_writer=True,
        )
