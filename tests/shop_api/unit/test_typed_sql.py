"""``core.typed_sql``: a model's table and a statement's row count, or a clear refusal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, ForeignKey, Integer, Table, create_engine, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shop_api.core.typed_sql import rowcount, table_of
from shop_api.models import Listing


class _Base(DeclarativeBase):
    pass


class _Parcel(_Base):
    __tablename__ = "parcels"

    id: Mapped[int] = mapped_column(primary_key=True)
    weight: Mapped[int]


_labels = Table(
    "labels",
    _Base.metadata,
    Column("label_id", Integer, primary_key=True),
    Column("parcel_id", ForeignKey("parcels.id")),
)


class _LabelledParcel(_Base):
    """Mapped to a join, not a table."""

    __table__ = _Parcel.__table__.join(_labels)


def test_table_of_a_model_is_its_table() -> None:
    table = table_of(Listing)

    assert isinstance(table, Table)
    assert table.name == "listings"


def test_table_of_a_model_mapped_to_a_join_is_refused() -> None:
    with pytest.raises(TypeError, match="_LabelledParcel is mapped to Join, not a table"):
        table_of(_LabelledParcel)


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([_Parcel(id=1, weight=5), _Parcel(id=2, weight=5), _Parcel(id=3, weight=9)])
        session.commit()
        yield session
    engine.dispose()


def test_rowcount_counts_the_rows_an_update_matched(session: Session) -> None:
    light = update(_Parcel).where(_Parcel.weight < 8).values(weight=6)

    assert rowcount(session.execute(light)) == 2
    assert rowcount(session.execute(update(_Parcel).where(_Parcel.id == 99).values(weight=1))) == 0


def test_rowcount_of_a_query_is_refused(session: Session) -> None:
    with pytest.raises(TypeError, match="has no row count"):
        rowcount(session.execute(select(_Parcel)))
