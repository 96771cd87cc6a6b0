"""Flask extensions, created unbound; `create_app` binds them."""

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from wxdist.core import pool_reset

# Stable constraint names so Alembic migrations are the same on SQLite and MySQL.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Objects keep what this process just wrote after a commit instead of reloading it; code
# that needs another transaction's writes reads with populate_existing or refresh().
# The pool's reset on return is wxdist.core.pool_reset's (create_app installs it on each engine):
# no ROLLBACK after a COMMIT.
db = SQLAlchemy(
    model_class=Base,
    session_options={"expire_on_commit": False},
    engine_options=pool_reset.ENGINE_OPTIONS,
)
migrate = Migrate()
