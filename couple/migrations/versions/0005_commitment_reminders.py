"""commitment reminders: the owner's private email reminder per commitment, and a sent-row per
(reminder, local day) whose unique key makes two runs or two processes send it once

Revision ID: 0005_commitment_reminders
Revises: 0004_commitment_history
Create Date: 2026-12-01 07:20:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_commitment_reminders'
down_revision = '0004_commitment_history'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('commitment_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commitment_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('local_time', sa.String(length=5), nullable=False),
    sa.Column('since', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitments.id'], name=op.f('fk_commitment_reminders_commitment_id_commitments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_commitment_reminders_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitment_reminders')),
    sa.UniqueConstraint('commitment_id', name=op.f('uq_commitment_reminders_commitment_id'))
    )
    with op.batch_alter_table('commitment_reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commitment_reminders_user_id'), ['user_id'], unique=False)

    op.create_table('reminder_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reminder_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['reminder_id'], ['commitment_reminders.id'], name=op.f('fk_reminder_sends_reminder_id_commitment_reminders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_sends')),
    sa.UniqueConstraint('reminder_id', 'day', name=op.f('uq_reminder_sends_reminder_id_day'))
    )


def downgrade():
    op.drop_table('reminder_sends')
    with op.batch_alter_table('commitment_reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commitment_reminders_user_id'))

    op.drop_table('commitment_reminders')
