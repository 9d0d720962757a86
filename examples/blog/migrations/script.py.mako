"""${message}

Revision ID: ${up_revision}
Revises: ${(down_revision or "nothing: the first revision") | comma,n}
Create Date: ${create_date}

A data step runs Aksara queries in this revision's transaction:
    from aksara.migrations import run_data
    run_data(fill)  # in upgrade(), with `async def fill(ctx): await ctx.execute(...)`
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aksara.migrations import ops as aksara_ops
from aksara.migrations import types as aksara_types
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}

#: The models' columns after this revision: Aksara writes the next revision from them.
${aksara_schema}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
