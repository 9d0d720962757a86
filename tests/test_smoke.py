from aksara.db import Database
from examples.blog.models import User


async def test_create_and_count(db: Database) -> None:
    await User.objects.create(name="Ada", email="ada@example.com")
    assert await User.objects.count() == 1
