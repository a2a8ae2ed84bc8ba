"""members: word-prefix search column (name_words) and first-level federation (province_id) for scoped search

Revision ID: b7e1c0de5ea1
Revises: 47e01bca8514
Create Date: 2026-11-23 14:10:00.000000

"""
from alembic import op
import sqlalchemy as sa
import engine.db  # noqa: F401  (kept like the other revisions)


# revision identifiers, used by Alembic.
revision = 'b7e1c0de5ea1'
down_revision = '47e01bca8514'
branch_labels = None
depends_on = None


def _backfill_provinces():
    """province_id = the top-most ancestor of the member's unit that is not the confederation."""
    bind = op.get_bind()
    units = {row.id: (row.parent_id, row.kind)
             for row in bind.execute(sa.text("SELECT id, parent_id, kind FROM org_units"))}

    def province(unit_id):
        found, node, seen = None, unit_id, set()
        while node is not None and node in units and node not in seen:
            seen.add(node)
            parent_id, kind = units[node]
            if kind != "confederation":
                found = node
            node = parent_id
        return found

    by_province = {}
    for (unit_id,) in bind.execute(sa.text("SELECT DISTINCT unit_id FROM members")):
        by_province.setdefault(province(unit_id), []).append(unit_id)
    for province_id, unit_ids in by_province.items():
        if province_id is None:
            continue
        for start in range(0, len(unit_ids), 500):
            chunk = unit_ids[start:start + 500]
            bind.execute(sa.text("UPDATE members SET province_id = :p WHERE unit_id IN (%s)"
                                 % ", ".join(str(int(u)) for u in chunk)), {"p": province_id})


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table('members', schema=None, recreate='auto' if postgresql else 'always') as batch_op:
        batch_op.add_column(sa.Column('name_words', sa.String(length=201),
                                      sa.Computed("' ' || name_fold", persisted=True), nullable=True))
        batch_op.add_column(sa.Column('province_id', sa.Integer(), nullable=True))
    _backfill_provinces()
    if postgresql:  # finer statistics: the name search plans from them (see engine.members.models)
        op.execute("ALTER TABLE members ALTER COLUMN name_words SET STATISTICS 1000, "
                   "ALTER COLUMN sort_key SET STATISTICS 1000")
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('ix_members_name_fold', postgresql_using='gin',
                            postgresql_ops={'name_fold': 'gin_trgm_ops'})
        batch_op.create_index('ix_members_name_words', ['name_words'], unique=False, postgresql_using='gin',
                              postgresql_ops={'name_words': 'gin_trgm_ops'})
        batch_op.create_index('ix_members_province_sort', ['province_id', 'status', 'sort_key', 'id'], unique=False,
                              postgresql_include=['unit_id', 'name_words'])


def downgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('ix_members_province_sort', postgresql_include=['unit_id', 'name_words'])
        batch_op.drop_index('ix_members_name_words', postgresql_using='gin',
                            postgresql_ops={'name_words': 'gin_trgm_ops'})
        batch_op.create_index('ix_members_name_fold', ['name_fold'], unique=False, postgresql_using='gin',
                              postgresql_ops={'name_fold': 'gin_trgm_ops'})
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table('members', schema=None, recreate='auto' if postgresql else 'always') as batch_op:
        batch_op.drop_column('province_id')
        batch_op.drop_column('name_words')
