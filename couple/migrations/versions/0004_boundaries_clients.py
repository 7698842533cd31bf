"""boundaries: which partner each Yjs client id belongs to

Revision ID: 0004_boundaries_clients
Revises: 0002_boundaries
Create Date: 2026-12-01 03:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_boundaries_clients'
down_revision = '0002_boundaries'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('boundary_clients',
    sa.Column('couple_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['couple_id'], ['couples.id'], name=op.f('fk_boundary_clients_couple_id_couples'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_boundary_clients_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('couple_id', 'client_id', name=op.f('pk_boundary_clients'))
    )


def downgrade():
    op.drop_table('boundary_clients')
