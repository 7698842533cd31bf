"""accounts devices and quick-exit drafts: a rough device label and last-use day on each login
session; the private drafts a quick exit keeps

Revision ID: 0004_accounts_devices
Revises: 0001_foundation
Create Date: 2026-12-01 03:40:00

Branches from 0001_foundation (it touches only the foundation's tables and adds its own), so
it merges with any other 0004 revision: the app upgrades to `heads`.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_accounts_devices'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('last_used_on', sa.Date(), nullable=True))

    op.create_table('drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_drafts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drafts')),
    sa.UniqueConstraint('user_id', 'key', name=op.f('uq_drafts_user_id_key'))
    )


def downgrade():
    op.drop_table('drafts')
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_column('last_used_on')
        batch_op.drop_column('device')
