"""commitment history: an index to read a commitment's changes apart from its log of marks

Every mark and correction is now logged in commitment_changes (kinds kept / missed / noted), so
a commitment with years of daily marks has thousands of rows there; its own few changes (made,
reworded, paused, resumed, ended) are read by (commitment_id, kind).

Revision ID: 0004_commitment_history
Revises: 0003_commitments
Create Date: 2026-12-01 03:50:00
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004_commitment_history'
down_revision = '0003_commitments'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('commitment_changes', schema=None) as batch_op:
        batch_op.create_index('ix_commitment_changes_commitment_kind', ['commitment_id', 'kind'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('commitment_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_commitment_changes_commitment_kind')
