"""The Alembic migrations build exactly the schema the models declare (SQLite and PostgreSQL)."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from engine.db import Base
from web import create_app


def _diff_after_upgrade(url: str) -> list:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "DEPLOY_ON_START": False, "TESTING": True})
    with app.app_context():
        from web.extensions import db

        upgrade()
        with db.engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), Base.metadata)


def test_migrations_match_models_sqlite(tmp_path):
    assert _diff_after_upgrade(f"sqlite:///{tmp_path / 'm.db'}") == []


def test_migrations_match_models_postgres(pg_server):
    assert _diff_after_upgrade(pg_server.create_database("migrations_check")) == []
