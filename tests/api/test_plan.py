"""The query plan derived from a serializer: what it joins, prefetches, narrows and
annotates, what it keeps of the queryset, and proof on both databases that the rows it
loads serve every serialized path without another query (relation loading "raise")."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import pytest

from aksara.api import serializers
from aksara.api.serializers import Field, Serializer
from aksara.api.serializers.plan import Nested, Plan
from aksara.conf import settings
from aksara.db import Database
from aksara.debug import capture_queries
from aksara.exceptions import DeferredFieldError
from aksara.orm import Count, Model, Prefetch, QuerySet
from examples.blog.models import Comment, Post, User
from tests.models import Category, Label, Tag
from tests.orm.relation_models import Article, Keyword, Profile, comments_of, seed_blog

# Serializers -----------------------------------------------------------------------------


class UserName(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name"]


class PostList(serializers.ModelSerializer):
    """The guide's lightweight list serializer."""

    class Meta:
        model = Post
        fields = ["id", "title", "slug", "created_at"]
        read_only = True


class PostGood(serializers.ModelSerializer):
    """The guide's "good" serializer: a dotted source and an annotation of get_queryset()."""

    author_name = serializers.String(source="author.name")
    comment_count = serializers.Integer()

    class Meta:
        model = Post
        fields = ["id", "title", "author_name", "comment_count"]


class PostBad(serializers.ModelSerializer):
    """The guide's "bad" serializer: method fields that await relations."""

    author_name = serializers.SerializerMethodField()
    comment_count = serializers.SerializerMethodField()

    class Meta:
        model = Post
        fields = ["id", "title", "author_name", "comment_count"]

    async def get_author_name(self, obj: Post) -> str:
        author = await obj.author
        return str(author.name)

    async def get_comment_count(self, obj: Post) -> int:
        return await obj.comments.count()


class CommentRow(serializers.ModelSerializer):
    author = UserName()

    class Meta:
        model = Comment
        fields = ["id", "body", "author"]


class PostDetail(serializers.ModelSerializer):
    author = UserName()
    comments = CommentRow(many=True)
    comment_total = serializers.Count("comments")

    class Meta:
        model = Post
        fields = ["id", "title", "author", "comments", "comment_total"]


class PostOfComment(serializers.ModelSerializer):
    author = UserName()

    class Meta:
        model = Post
        fields = ["id", "title", "author"]


class CommentWithPost(serializers.ModelSerializer):
    """Nested forward two levels deep: comment -> post -> author."""

    post = PostOfComment()
    author_email = serializers.String(source="author.email")

    class Meta:
        model = Comment
        fields = ["id", "post", "author_email"]


class KeywordName(serializers.ModelSerializer):
    class Meta:
        model = Keyword
        fields = ["name"]


class ArticleTags(serializers.ModelSerializer):
    tags = KeywordName(many=True)
    tag_ids = serializers.PrimaryKeyRelated(Keyword, many=True, source="tags", read_only=True)

    class Meta:
        model = Article
        fields = ["id", "title", "tags", "tag_ids"]


class KeywordUses(serializers.ModelSerializer):
    uses = serializers.Count("articles")

    class Meta:
        model = Keyword
        fields = ["name", "uses"]


class ArticleTagUses(serializers.ModelSerializer):
    """A many-to-many whose rows need an annotation: a Prefetch with a queryset."""

    tags = KeywordUses(many=True)

    class Meta:
        model = Article
        fields = ["id", "tags"]


class UserPosts(serializers.ModelSerializer):
    posts = serializers.PrimaryKeyRelated(Post, many=True, read_only=True)
    bio = serializers.String(source="profile.bio", allow_null=True)

    class Meta:
        model = User
        fields = ["id", "name", "posts", "bio"]


class AuthorWithPosts(serializers.ModelSerializer):
    posts = serializers.PrimaryKeyRelated(Post, many=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "name", "posts"]


class PostByAuthor(serializers.ModelSerializer):
    """A forward relation whose serializer reads a reverse relation: prefetched by its key."""

    author = AuthorWithPosts()

    class Meta:
        model = Post
        fields = ["id", "title", "author"]


class Plain(Serializer):
    """No model: the plan is derived for the model of the queryset it is applied to."""

    title = serializers.String()
    author_name = serializers.String(source="author.name")


class Headline(Serializer):
    title = serializers.String()
    author_name = serializers.String(source="author.name")


class PostWithHeadline(serializers.ModelSerializer):
    """A nested serializer over the instance itself: its reads are the parent's."""

    headline = Headline(source="*")

    class Meta:
        model = Post
        fields = ["id", "headline"]


class PostItself(serializers.ModelSerializer):
    """A plain field over the instance itself may read any attribute."""

    itself = serializers.JSON(source="*", read_only=True)

    class Meta:
        model = Post
        fields = ["id", "itself"]


class PostAuthorMethod(serializers.ModelSerializer):
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = Post
        fields = ["id", "author_name"]

    async def get_author_name(self, obj: Post) -> str:
        author = await obj.author
        return str(author.name)


class CommentOnPostMethod(serializers.ModelSerializer):
    """A method field in a serializer nested over a joined relation."""

    post = PostAuthorMethod()

    class Meta:
        model = Comment
        fields = ["id", "post"]


class PostTitle(serializers.ModelSerializer):
    class Meta:
        model = Post
        fields = ["id", "title"]


class CommentOnItsPost(serializers.ModelSerializer):
    post = PostTitle()
    author_name = serializers.String(source="author.name")

    class Meta:
        model = Comment
        fields = ["id", "post", "author_name"]


class PostWithBackReference(serializers.ModelSerializer):
    """Comments that show their post: loading post.comments sets comment.post to the post."""

    comments = CommentOnItsPost(many=True)

    class Meta:
        model = Post
        fields = ["id", "comments"]


class LabelRow(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "name"]


class TagDeep(serializers.ModelSerializer):
    """A forward relation whose serializer reads to-many rows: prefetched, not joined."""

    category = serializers.String(source="category.name")
    labels = LabelRow(many=True)
    label_count = serializers.Count("labels")

    class Meta:
        model = Tag
        fields = ["id", "name", "category", "labels", "label_count"]


class LabelDeep(serializers.ModelSerializer):
    tag = TagDeep()

    class Meta:
        model = Label
        fields = ["id", "name", "tag"]


# Helpers ---------------------------------------------------------------------------------

Selection = tuple[type[Serializer], list[Field], Nested]


def select(cls: type[Serializer], names: Sequence[str] | None = None) -> Selection:
    """(class, fields, nested) of *cls* narrowed to *names* (dotted names narrow nested)."""
    available = {n: fd for n, fd in cls.get_fields().items() if not fd.write_only}
    heads: dict[str, list[str]] = {}
    for name in names if names is not None else available:
        head, _, rest = name.partition(".")
        heads.setdefault(head, [])
        if rest:
            heads[head].append(rest)
    chosen = [available[name] for name in available if name in heads]
    nested = {
        fd.name: select(type(fd), heads[fd.name] or None)
        for fd in chosen
        if isinstance(fd, Serializer)
    }
    return cls, chosen, nested


def plan_of(cls: type[Serializer], names: Sequence[str] | None = None) -> Plan:
    return Plan.for_fields(*select(cls, names))


def step(value: Any, name: str) -> Any:
    """One attribute of a path, as a serializer reads it: loaded rows only."""
    found = getattr(value, name)
    if hasattr(found, "all") and hasattr(found, "loaded"):  # a to-many manager
        rows = found.all()
        assert isinstance(rows, list), f"{name} is not loaded"
        return list(rows)
    if found is not None and not isinstance(found, int | str | float | Model | list):
        assert not hasattr(found, "__await__"), f"{name} is not loaded"
    return found


def read(obj: Any, cls: type[Serializer], fields: Sequence[Field], nested: Nested) -> Any:
    """Every value *fields* read from *obj* (method fields left out): what a serializer reads."""
    if obj is None:
        return None
    out: dict[str, Any] = {}
    for field in fields:
        if isinstance(field, serializers.SerializerMethodField):
            continue
        value = obj
        for part in field.source_path:
            if value is None:
                break
            value = step(value, part)
        child = nested.get(field.name)
        if child is not None:
            if isinstance(field, Serializer) and field.many:
                value = [read(row, *child) for row in value]
            else:
                value = read(value, *child)
        elif isinstance(field, serializers.PrimaryKeyRelated) and isinstance(value, list):
            value = sorted(row.pk for row in value)
        elif isinstance(value, Model):
            value = value.pk
        out[field.name] = value
    return out


async def serve(
    queryset: QuerySet[Any], selection: Selection
) -> tuple[list[Any], list[str], list[Any]]:
    """Fetch *queryset* with the plan of *selection* under relation loading "raise" and
    read every serialized path: (read values, statements run, rows)."""
    settings.configure(RELATION_LOADING="raise")
    planned = Plan.for_fields(*selection).apply(queryset.relation_loading("raise"))
    async with capture_queries() as queries:
        rows = await planned
        values = [read(row, *selection) for row in rows]
    return values, [query.sql for query in queries], rows


# Derivation (no database) ----------------------------------------------------------------


def test_flat_fields_become_only() -> None:
    query = plan_of(PostList).apply(Post.objects.all()).query
    assert query.only == ("id", "title", "slug", "created_at")
    assert query.related == () and query.prefetch == () and query.annotations == ()
    assert query.loading is None


def test_dotted_source_joins_and_narrows_the_joined_row() -> None:
    query = plan_of(PostGood).apply(Post.objects.annotate(comment_count=Count("comments"))).query
    assert query.related == ("author",)
    assert query.only == ("id", "title", "author__id", "author__name")


def test_an_attribute_the_queryset_does_not_annotate_leaves_columns_whole() -> None:
    """comment_count is not a field: without the annotation it may be a property."""
    query = plan_of(PostGood).apply(Post.objects.all()).query
    assert query.related == ("author",)
    assert query.only is None


def test_nested_forward_relations_join_at_every_level() -> None:
    query = plan_of(CommentWithPost).apply(Comment.objects.all()).query
    assert query.related == ("post", "post__author", "author")
    assert query.only == (
        "id",
        "post__id",
        "post__title",
        "post__author__id",
        "post__author__name",
        "author__id",
        "author__email",
    )


def test_nested_reverse_becomes_a_narrowed_prefetch() -> None:
    query = plan_of(PostDetail).apply(Post.objects.all()).query
    assert query.related == ("author",)
    assert query.annotations[0][0] == "comment_total"
    (comments,) = query.prefetch
    assert comments.lookup == "comments" and comments.queryset is not None
    inner = comments.queryset.query
    assert inner.related == ("author",)
    # The key the prefetch groups by (post_id) is kept.
    assert inner.only == ("id", "post_id", "body", "author__id", "author__name")


def test_what_reverse_rows_read_of_their_parent_is_loaded_with_the_parent() -> None:
    query = plan_of(PostWithBackReference).apply(Post.objects.all()).query
    assert query.only == ("id", "title")
    (comments,) = query.prefetch
    assert comments.queryset is not None
    assert comments.queryset.query.related == ("author",)
    assert comments.queryset.query.only == ("id", "post_id", "author__id", "author__name")


def test_many_to_many_prefetches_plainly() -> None:
    query = plan_of(ArticleTags).apply(Article.objects.all()).query
    assert [p.lookup for p in query.prefetch] == ["tags"]
    assert query.prefetch[0].queryset is None
    assert query.only is None  # id and title are every column of Article


def test_many_to_many_rows_with_annotations_prefetch_a_queryset() -> None:
    query = plan_of(ArticleTagUses).apply(Article.objects.all()).query
    (tags,) = query.prefetch
    assert tags.lookup == "tags" and tags.queryset is not None
    assert [name for name, _ in tags.queryset.query.annotations] == ["uses"]


def test_primary_keys_of_a_reverse_relation_prefetch_the_keys_only() -> None:
    query = plan_of(UserPosts).apply(User.objects.all()).query
    lookups = {p.lookup: p for p in query.prefetch}
    assert set(lookups) == {"posts", "profile"}
    posts = lookups["posts"].queryset
    assert posts is not None and posts.query.only == ("id", "author_id")
    assert query.only == ("id", "name")


def test_a_nested_serializer_over_the_instance_reads_through_the_parent() -> None:
    query = plan_of(PostWithHeadline).apply(Post.objects.all()).query
    assert query.related == ("author",)
    assert query.only == ("id", "title", "author__id", "author__name")
    query = plan_of(PostItself).apply(Post.objects.all()).query
    assert query.only is None and query.loading == "peers"


def test_method_fields_load_whole_rows_with_peers() -> None:
    query = plan_of(PostBad).apply(Post.objects.all()).query
    assert query.only is None
    assert query.loading == "peers"


def test_a_forward_relation_with_to_many_rows_is_prefetched_not_joined() -> None:
    query = plan_of(LabelDeep).apply(Label.objects.all()).query
    assert query.related == ()
    (tag,) = query.prefetch
    assert tag.lookup == "tag" and tag.queryset is not None
    inner = tag.queryset.query
    assert inner.related == ("category",)
    assert [name for name, _ in inner.annotations] == ["label_count"]
    assert [p.lookup for p in inner.prefetch] == ["labels"]
    # The parent keeps the key the prefetch follows (here: every column of Label).
    assert query.only is None


def test_a_prefetched_forward_relation_keeps_its_key_in_the_parent() -> None:
    query = plan_of(PostByAuthor).apply(Post.objects.all()).query
    assert query.related == ()
    assert query.only == ("id", "title", "author_id")
    (author,) = query.prefetch
    assert author.queryset is not None
    inner = author.queryset.query
    assert inner.only == ("id", "name")
    assert [p.lookup for p in inner.prefetch] == ["posts"]


def test_narrowed_selection_narrows_joins_prefetches_and_columns() -> None:
    query = plan_of(PostDetail, ["id", "author.name"]).apply(Post.objects.all()).query
    assert query.related == ("author",)
    assert query.prefetch == () and query.annotations == ()
    assert query.only == ("id", "author__id", "author__name")
    query = plan_of(PostDetail, ["title", "comments.body"]).apply(Post.objects.all()).query
    assert query.related == ()
    assert query.only == ("id", "title")
    (comments,) = query.prefetch
    assert comments.queryset is not None
    assert comments.queryset.query.only == ("id", "post_id", "body")


def test_a_plain_serializer_is_planned_for_the_queryset_model() -> None:
    plan = Plan.for_serializer(Plain)
    assert "queryset it is applied to" in str(plan)
    query = plan.apply(Post.objects.all()).query
    assert query.related == ("author",)
    assert query.only == ("id", "title", "author__id", "author__name")


def test_explicit_choices_of_the_queryset_are_kept() -> None:
    plan = plan_of(PostDetail)
    mine = Comment.objects.order_by("-id")
    queryset = (
        Post.objects.only("id", "title", "author")
        .select_related("author")
        .prefetch_related(Prefetch("comments", queryset=mine))
        .annotate(comment_total=Count("comments", distinct=True))
        .relation_loading("lazy")
    )
    query = plan.apply(queryset).query
    assert query.only == ("id", "title", "author")
    assert query.related == ("author",)
    assert query.loading == "lazy"
    assert len(query.annotations) == 1 and query.annotations[0][1].distinct
    # Their comments queryset stays; the comments' authors load beneath it.
    assert query.prefetch[0].queryset is mine
    assert [p.lookup for p in query.prefetch] == ["comments", "comments__author"]


@pytest.mark.parametrize("serializer", [PostList, PostDetail, PostBad, CommentWithPost])
def test_the_quick_path_of_a_bare_queryset_agrees_with_the_general_one(
    serializer: type[Serializer],
) -> None:
    plan = plan_of(serializer)
    model = plan.model
    assert model is not None
    base = model.objects.filter(pk__gt=0)
    bare = plan.apply(base).query
    # An explicit choice the plan makes anyway takes the general path to the same query.
    chosen = base
    if bare.related:
        chosen = chosen.select_related(bare.related[0])
    else:
        chosen = chosen.relation_loading(bare.loading or "lazy")
    general = plan.apply(chosen).query
    assert general.replace(loading=bare.loading) == bare


def test_apply_adds_nothing_twice() -> None:
    plan = plan_of(PostGood)
    once = plan.apply(Post.objects.annotate(comment_count=Count("comments")))
    assert plan.apply(once) is once


def test_apply_gives_the_same_query_back_for_the_same_query() -> None:
    plan = plan_of(PostDetail)
    # The manager's all() shares one Query: a viewset's default get_queryset() each request.
    assert Post.objects.all().query is Post.objects.all().query is Post._meta.query
    first = plan.apply(Post.objects.all()).query
    assert first.related == ("author",) and first.only is not None
    assert plan.apply(Post.objects.all()).query is first
    # An equal query built afresh (names and flags equal) gets the same planned query.
    joined = plan.apply(Post.objects.select_related("author")).query
    assert plan.apply(Post.objects.select_related("author")).query is joined
    assert joined == first.replace(related=("author",))
    # A filter's condition compares by identity: each filtered query is planned for itself.
    one, two = Post.objects.filter(pk=1), Post.objects.filter(pk=2)
    assert plan.apply(one).query.where == one.query.where
    assert plan.apply(two).query.where == two.query.where
    # A few queries are remembered; the oldest is planned again, to an equal query.
    for pk in range(3, 8):
        plan.apply(Post.objects.filter(pk=pk))
    again = plan.apply(Post.objects.all()).query
    assert again is not first and again == first
    assert plan.apply(Post.objects.all()).query is again


def test_describe_reads_as_the_queryset() -> None:
    text = plan_of(PostDetail).describe()
    assert text.startswith("PostDetail on Post:")
    assert '.select_related("author")' in text
    assert '"comments",\n' in text and "queryset=Comment.objects\n" in text
    assert '.annotate(comment_total=Count("comments"))' in text
    assert "method fields: PostBad.author_name, PostBad.comment_count" in str(plan_of(PostBad))


# On the databases: the plan is complete and costs the promised queries --------------------


@pytest.mark.parametrize("size", [1, 20, 100])
async def test_the_good_serializer_is_one_query(db: Database, size: int) -> None:
    seeded = await seed_blog(size)
    queryset = Post.objects.select_related("author").annotate(comment_count=Count("comments"))
    values, statements, _ = await serve(queryset.order_by("id"), select(PostGood))
    assert len(statements) == 1
    assert "email" not in statements[0] and "content" not in statements[0]
    names = {user.pk: user.name for user in seeded.users}
    assert values == [
        {
            "id": post.pk,
            "title": post.title,
            "author_name": names[post.author_id],
            "comment_count": comments_of(index),
        }
        for index, post in enumerate(seeded.posts)
    ]


async def test_flat_rows_leave_other_columns_unloaded(db: Database) -> None:
    await seed_blog(3)
    values, statements, rows = await serve(Post.objects.order_by("id"), select(PostList))
    assert len(statements) == 1 and len(values) == 3
    with pytest.raises(DeferredFieldError):
        _ = rows[0].content


@pytest.mark.parametrize("size", [1, 20])
async def test_nested_reverse_and_counts(db: Database, size: int) -> None:
    seeded = await seed_blog(size)
    values, statements, _ = await serve(Post.objects.order_by("id"), select(PostDetail))
    assert len(statements) == 2  # the posts with authors and counts; the comments with theirs
    names = {user.pk: user.name for user in seeded.users}
    by_post: dict[int, list[Comment]] = {}
    for comment in seeded.comments:
        by_post.setdefault(comment.post_id, []).append(comment)
    for value, post in zip(values, seeded.posts, strict=True):
        assert value["author"] == {"id": post.author_id, "name": names[post.author_id]}
        assert value["comment_total"] == len(by_post.get(post.pk, []))
        assert sorted(c["id"] for c in value["comments"]) == sorted(
            c.pk for c in by_post.get(post.pk, [])
        )
        assert all(
            c["author"]["name"] == names[c_author(c, seeded.comments)] for c in value["comments"]
        )


def c_author(value: Mapping[str, Any], comments: list[Comment]) -> int:
    return next(c.author_id for c in comments if c.pk == value["id"])


async def test_reverse_rows_showing_their_parent(db: Database) -> None:
    seeded = await seed_blog(6)
    selection = select(PostWithBackReference)
    values, statements, _ = await serve(Post.objects.order_by("id"), selection)
    assert len(statements) == 2
    titles = {post.pk: post.title for post in seeded.posts}
    for value in values:
        assert all(
            c["post"] == {"id": value["id"], "title": titles[value["id"]]}
            for c in value["comments"]
        )
    assert sum(len(value["comments"]) for value in values) == len(seeded.comments)


async def test_nested_forward_two_levels_is_one_query(db: Database) -> None:
    seeded = await seed_blog(10)
    values, statements, _ = await serve(Comment.objects.order_by("id"), select(CommentWithPost))
    assert len(statements) == 1
    posts = {post.pk: post for post in seeded.posts}
    users = {user.pk: user for user in seeded.users}
    for value, comment in zip(values, seeded.comments, strict=True):
        post = posts[comment.post_id]
        assert value["post"]["title"] == post.title
        assert value["post"]["author"]["name"] == users[post.author_id].name
        assert value["author_email"] == users[comment.author_id].email


async def test_many_to_many_and_its_keys(db: Database) -> None:
    words = await Keyword.objects.bulk_create([Keyword(name=f"k{i}") for i in range(3)])
    articles = await Article.objects.bulk_create([Article(title=f"t{i}") for i in range(5)])
    for i, article in enumerate(articles):
        await article.tags.add(*words[: i % 4])
    values, statements, _ = await serve(Article.objects.order_by("id"), select(ArticleTags))
    assert len(statements) == 2
    for i, value in enumerate(values):
        assert value["tag_ids"] == [word.pk for word in words[: i % 4]]
        assert sorted(tag["name"] for tag in value["tags"]) == [w.name for w in words[: i % 4]]


async def test_many_to_many_rows_with_annotations(db: Database) -> None:
    words = await Keyword.objects.bulk_create([Keyword(name=f"k{i}") for i in range(3)])
    articles = await Article.objects.bulk_create([Article(title=f"t{i}") for i in range(6)])
    for i, article in enumerate(articles):
        await article.tags.add(*words[: i % 4])
    values, statements, _ = await serve(Article.objects.order_by("id"), select(ArticleTagUses))
    assert len(statements) == 3  # articles; their links; the keywords with their counts
    uses = {w.name: sum(1 for i in range(6) if k < i % 4) for k, w in enumerate(words)}
    for i, value in enumerate(values):
        assert sorted((t["name"], t["uses"]) for t in value["tags"]) == [
            (w.name, uses[w.name]) for w in words[: i % 4]
        ]


async def test_reverse_keys_and_a_reverse_one_to_one(db: Database) -> None:
    seeded = await seed_blog(9, users=3)
    await Profile.objects.create(user=seeded.users[0], bio="first")
    values, statements, _ = await serve(User.objects.order_by("id"), select(UserPosts))
    assert len(statements) == 3  # users; their posts' keys; their profiles
    for value, user in zip(values, seeded.users, strict=True):
        assert value["posts"] == sorted(p.pk for p in seeded.posts if p.author_id == user.pk)
    assert [value["bio"] for value in values] == ["first", None, None]


async def test_a_prefetched_forward_relation_with_its_own_prefetch(db: Database) -> None:
    category = await Category.objects.create(name="c")
    tags = [await Tag.objects.create(name=f"t{i}", category=category) for i in range(3)]
    labels = [
        await Label.objects.create(name=f"l{i}", tag=tags[i % 2] if i < 4 else None)
        for i in range(5)
    ]
    values, statements, _ = await serve(Label.objects.order_by("id"), select(LabelDeep))
    assert len(statements) == 3  # labels; their tags with categories and counts; tag labels
    by_tag = {tag.pk: sorted(lb.pk for lb in labels if lb.tag_id == tag.pk) for tag in tags}
    for value, label in zip(values, labels, strict=True):
        if label.tag_id is None:
            assert value["tag"] is None
            continue
        assert value["tag"]["category"] == "c"
        assert value["tag"]["label_count"] == len(by_tag[label.tag_id])
        assert sorted(lb["id"] for lb in value["tag"]["labels"]) == by_tag[label.tag_id]


async def test_a_prefetched_forward_relation_on_the_database(db: Database) -> None:
    seeded = await seed_blog(8, users=3)
    values, statements, _ = await serve(Post.objects.order_by("id"), select(PostByAuthor))
    assert len(statements) == 3  # posts; their authors; the authors' post keys
    for value, post in zip(values, seeded.posts, strict=True):
        mine = sorted(p.pk for p in seeded.posts if p.author_id == post.author_id)
        assert value["author"]["posts"] == mine


async def test_a_narrowed_selection_on_the_database(db: Database) -> None:
    await seed_blog(5)
    selection = select(PostDetail, ["id", "comments.author.name"])
    values, statements, _ = await serve(Post.objects.order_by("id"), selection)
    assert len(statements) == 2
    assert "title" not in statements[0] and "body" not in statements[1]
    assert all(set(value) == {"id", "comments"} for value in values)


async def test_explicit_choices_still_serve_every_path(db: Database) -> None:
    await seed_blog(6)
    queryset = (
        Post.objects.prefetch_related(
            Prefetch("comments", queryset=Comment.objects.order_by("-id"))
        )
        .only("id", "title", "author")
        .order_by("id")
    )
    values, statements, _ = await serve(queryset, select(PostDetail))
    assert len(statements) == 3  # posts; their comments (newest first); the comments' authors
    assert all(
        [c["id"] for c in value["comments"]]
        == sorted((c["id"] for c in value["comments"]), reverse=True)
        for value in values
    )


@pytest.mark.parametrize("size", [1, 20, 100])
async def test_method_fields_batch_under_peers(db: Database, size: int) -> None:
    """The "bad" serializer: at most 4 queries whatever the page size (here 3: the page, the
    authors of the page, the comment counts of the page)."""
    seeded = await seed_blog(size)
    planned = plan_of(PostBad).apply(Post.objects.order_by("id"))
    serializer = PostBad()
    async with capture_queries() as queries:
        rows = await planned
        names = await asyncio.gather(*(serializer.get_author_name(row) for row in rows))
        counts = await asyncio.gather(*(serializer.get_comment_count(row) for row in rows))
    assert len(queries) == 3
    users = {user.pk: user.name for user in seeded.users}
    assert names == [users[post.author_id] for post in seeded.posts]
    assert counts == [comments_of(index) for index in range(size)]


# Through the compiled output (Serializer.compile(fields).plan) ----------------------------


def test_the_output_s_plan_is_derived_once_from_its_selection() -> None:
    output = PostDetail.compile(["id", "comments.author.name"])
    assert output.plan is output.plan
    assert str(output.plan) == str(plan_of(PostDetail, ["id", "comments.author.name"]))
    assert '.only("id", "post_id", "author__id", "author__name")' in str(output.plan)


async def render(output: Any, queryset: QuerySet[Any]) -> tuple[list[Any], int]:
    """The page rendered by *output* through its plan under relation loading "raise";
    (builtins, queries run)."""
    settings.configure(RELATION_LOADING="raise")
    async with capture_queries() as queries:
        rows = await output.plan.apply(queryset)
        rendered = await output.many(rows, {})
    return msgspec.json.decode(serializers.encode(rendered)), len(queries)


@pytest.mark.parametrize("size", [1, 20, 100])
async def test_the_good_serializer_renders_in_one_query(db: Database, size: int) -> None:
    seeded = await seed_blog(size)
    queryset = Post.objects.select_related("author").annotate(comment_count=Count("comments"))
    items, count = await render(PostGood.compile(), queryset.order_by("id"))
    assert count == 1
    names = {user.pk: user.name for user in seeded.users}
    assert items == [
        {
            "id": post.pk,
            "title": post.title,
            "author_name": names[post.author_id],
            "comment_count": comments_of(index),
        }
        for index, post in enumerate(seeded.posts)
    ]


@pytest.mark.parametrize("size", [1, 20, 100])
async def test_the_bad_serializer_renders_in_at_most_four_queries(db: Database, size: int) -> None:
    seeded = await seed_blog(size)
    output = PostBad.compile()
    async with capture_queries() as queries:
        rows = await output.plan.apply(Post.objects.order_by("id"))
        items = msgspec.json.decode(serializers.encode(await output.many(rows, {})))
    assert len(queries) <= 4
    assert [item["comment_count"] for item in items] == [comments_of(i) for i in range(size)]
    names = {user.pk: user.name for user in seeded.users}
    assert [item["author_name"] for item in items] == [names[p.author_id] for p in seeded.posts]


async def test_nested_output_with_a_narrowed_selection(db: Database) -> None:
    seeded = await seed_blog(12)
    output = PostDetail.compile(["id", "author.name", "comments.body", "comment_total"])
    items, count = await render(output, Post.objects.order_by("id"))
    assert count == 2
    names = {user.pk: user.name for user in seeded.users}
    for item, post in zip(items, seeded.posts, strict=True):
        bodies = sorted(c.body for c in seeded.comments if c.post_id == post.pk)
        assert item["author"] == {"name": names[post.author_id]}
        assert sorted(c["body"] for c in item["comments"]) == bodies
        assert item["comment_total"] == len(bodies)


async def test_many_to_many_output(db: Database) -> None:
    words = await Keyword.objects.bulk_create([Keyword(name=f"k{i}") for i in range(3)])
    articles = await Article.objects.bulk_create([Article(title=f"t{i}") for i in range(4)])
    for i, article in enumerate(articles):
        await article.tags.add(*words[:i])
    items, count = await render(ArticleTags.compile(), Article.objects.order_by("id"))
    assert count == 2
    assert [sorted(item["tag_ids"]) for item in items] == [
        [w.pk for w in words[:i]] for i in range(4)
    ]


@pytest.mark.parametrize("size", [1, 20, 100])
async def test_method_fields_of_a_joined_relation_batch_under_peers(
    db: Database, size: int
) -> None:
    seeded = await seed_blog(size)
    output = CommentOnPostMethod.compile()
    planned = output.plan.apply(Comment.objects.order_by("id"))
    assert planned.query.related == ("post",) and planned.query.loading == "peers"
    async with capture_queries() as queries:
        items = msgspec.json.decode(serializers.encode(await output.many(await planned, {})))
    assert len(queries) == 2  # the comments with their posts; the posts' authors
    names = {user.pk: user.name for user in seeded.users}
    authors = {post.pk: names[post.author_id] for post in seeded.posts}
    assert [item["post"]["author_name"] for item in items] == [
        authors[comment.post_id] for comment in seeded.comments
    ]
