"""hybridsim.frozen.fast_init: the dataclass's own constructor, only cheaper (issue 15.2)."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridsim.frozen import fast_init
from hybridsim.scheduling.base import Decision, SolveJob


def _twin(cls: type) -> type:
    """The same fields as a plain frozen, slotted dataclass: the constructor fast_init replaced."""
    return dataclasses.make_dataclass(
        f"{cls.__name__}Twin",
        [(f.name, f.type, dataclasses.field(default=f.default)) for f in dataclasses.fields(cls)],
        frozen=True,
        slots=True,
    )


# (Decision is a NamedTuple since issue 15.3: the policies make it from a plain tuple.)
@pytest.mark.parametrize("cls", [SolveJob])
def test_the_signature_is_the_dataclass_one(cls):
    ours = inspect.signature(cls.__init__).parameters
    theirs = inspect.signature(_twin(cls).__init__).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == [
        (p.name, p.kind, p.default) for p in theirs.values()
    ]


_values = st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), st.text(max_size=3))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_every_field_holds_what_was_passed_or_its_default(data):
    for cls in (SolveJob,):
        fields = dataclasses.fields(cls)
        required = [f.name for f in fields if f.default is dataclasses.MISSING]
        optional = [f.name for f in fields if f.default is not dataclasses.MISSING]
        chosen = data.draw(st.lists(st.sampled_from(optional), unique=True))
        kwargs = {name: data.draw(_values) for name in [*required, *chosen]}
        obj = cls(**kwargs)
        twin = _twin(cls)(**kwargs)
        for f in fields:
            assert getattr(obj, f.name) == getattr(twin, f.name)
            assert getattr(obj, f.name) == kwargs.get(f.name, f.default)


def test_instances_stay_frozen_and_replace_and_repr_work():
    job = SolveJob(1, 2, 3, priority=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.n = 5  # type: ignore[misc]
    assert dataclasses.replace(job, n=7).n == 7 and job.n == 2
    assert repr(Decision("quantum", "q")).startswith("Decision(route='quantum', group='q'")
    assert Decision("quantum", "q") == Decision("quantum", "q")  # Decision keeps its __eq__
    with pytest.raises(TypeError, match="required positional argument"):
        SolveJob(1, 2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword"):
        SolveJob(1, 2, 3, colour="red")  # type: ignore[call-arg]


def test_factories_keyword_only_fields_and_post_init():
    seen = []

    @fast_init
    @dataclasses.dataclass(frozen=True, slots=True)
    class Toy:
        a: int
        b: list = dataclasses.field(default_factory=list)
        c: int = dataclasses.field(default=3, kw_only=True)

        def __post_init__(self):
            seen.append(self.a)

    one, two = Toy(1), Toy(2, [5], c=4)
    assert (one.a, one.b, one.c) == (1, [], 3) and (two.a, two.b, two.c) == (2, [5], 4)
    assert one.b is not Toy(9).b  # a fresh list each time, as the factory says
    assert seen == [1, 2, 9]
    with pytest.raises(TypeError):
        Toy(1, [], 4)  # type: ignore[misc]  # c is keyword-only


def test_it_refuses_what_it_cannot_rebuild():
    @dataclasses.dataclass(frozen=True)
    class NotSlotted:
        a: int

    @dataclasses.dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class HiddenField:
        a: int
        b: int = dataclasses.field(default=0, init=False)

    for cls in (NotSlotted, NotFrozen):
        with pytest.raises(TypeError, match="frozen, slotted dataclass"):
            fast_init(cls)
    with pytest.raises(TypeError, match="init=False"):
        fast_init(HiddenField)
