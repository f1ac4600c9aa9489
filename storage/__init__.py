"""Storage: the schema, engines with their pragmas, migrations and the single writer."""

from storage.engine import make_engine
from storage.migrations import init_db
from storage.writer import Writer


def open_writer(url: str) -> Writer:
    """Create or upgrade the schema at url and return the process's single writer."""
    engine = make_engine(url)
    init_db(engine)
    return Writer(engine)
