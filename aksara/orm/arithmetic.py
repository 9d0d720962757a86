"""Types of ``F()`` arithmetic, checked when a statement is compiled.

The rules are the same for every database, so an expression either means the same thing
on both or fails on both with a :class:`FieldError` naming the fields and types involved.
Where a dialect stores Decimals as scaled integers, the SQL scales the operands and a
*plan* says how each bound value is adapted.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from aksara.exceptions import FieldError, ValidationError
from aksara.orm.expressions import Combined, CompileContext, Expression, F, Value

if TYPE_CHECKING:
    from aksara.orm.fields import Field

__all__ = ["Plan", "assignment_params", "check_comparison", "compile_assignment"]

_INTEGER_KINDS = frozenset(("integer", "biginteger", "auto"))
_NUMBERS = frozenset(("integer", "float", "decimal"))
_TEXT = frozenset(("string", "text"))
_INT64 = (-(2**63), 2**63 - 1)

#: (index of the value among the expression's values, left to right; adapter) per placeholder.
Plan = tuple[tuple[int, Callable[[Any], Any] | None], ...]


class Typed(NamedTuple):
    """What an expression computes: a number family or another field kind."""

    family: str
    places: int
    label: str


def _family(kind: str) -> str:
    if kind in _INTEGER_KINDS:
        return "integer"
    return "text" if kind in _TEXT else kind


def _typed(expression: Expression, ctx: CompileContext) -> Typed:
    if isinstance(expression, F):
        field = ctx.field(expression.name)
        places = getattr(field, "decimal_places", 0)
        return Typed(_family(field.kind), places, f"{field.label} ({type(field).__name__})")
    if isinstance(expression, Value):
        value = expression.value
        kind = type(value)
        label = f"the value {value!r}"
        if kind is int:
            return Typed("integer", 0, label)
        if kind is float:
            return Typed("float", 0, label)
        if kind is Decimal:
            return Typed("decimal", 0, label)  # its places are checked when bound
        return Typed(kind.__name__, 0, f"{label} ({kind.__name__})")
    if isinstance(expression, Combined):
        return _combined(expression, _typed(expression.lhs, ctx), _typed(expression.rhs, ctx))
    return Typed("unknown", 0, repr(expression))


def _combined(node: Combined, lhs: Typed, rhs: Typed) -> Typed:
    operator = node.operator
    label = f"({lhs.label} {operator} {rhs.label})"

    def refuse(reason: str) -> FieldError:
        return FieldError(f"Cannot compute {lhs.label} {operator} {rhs.label}: {reason}.")

    families = {lhs.family, rhs.family}
    if not families <= _NUMBERS:
        return _raise(
            refuse(
                "arithmetic takes numbers only (Integer, BigInteger, Float and Decimal fields, "
                "int, float and Decimal values)"
            )
        )
    if operator == "%":
        if families != {"integer"}:
            return _raise(refuse("% takes integers only"))
        return Typed("integer", 0, label)
    if families == {"float", "decimal"}:
        return _raise(refuse("mixing float and Decimal loses exactness; convert one side"))
    if "float" in families:
        return Typed("float", 0, label)
    if "decimal" in families:
        if operator == "/":
            return _raise(
                refuse("Decimal division rounds differently per database; divide in Python")
            )
        if operator == "*" and families == {"decimal"}:
            return _raise(refuse("a Decimal times a Decimal needs rounding; multiply in Python"))
        return Typed("decimal", max(lhs.places, rhs.places), label)
    return Typed("integer", 0, label)


def _raise(error: FieldError) -> Typed:
    raise error


def _check_assignment(field: Field, result: Typed, expression: Expression) -> None:
    target = _family(field.kind)
    allowed = {
        "integer": {"integer"},
        "float": {"integer", "float"},
        "decimal": {"integer", "decimal"},
    }.get(target, {target})
    if result.family not in allowed:
        raise FieldError(
            f"update({field.name}=...) cannot store {result.label}, which computes "
            f"{_article(result.family)}, in {field.label} ({type(field).__name__}); it takes "
            f"{' or '.join(sorted(allowed))} expressions."
        )
    places = getattr(field, "decimal_places", 0)
    if result.family == "decimal" and result.places > places:
        raise FieldError(
            f"update({field.name}=...): {result.label} has {result.places} decimal places "
            f"and {field.label} keeps {places}; round in Python first."
        )
    if target not in _NUMBERS and not isinstance(expression, F):
        raise FieldError(f"update({field.name}=...) takes a value or F() of the same kind.")


def _article(family: str) -> str:
    return ("an " if family[0] in "aeiou" else "a ") + family


def check_comparison(field: Field, expression: Expression, ctx: CompileContext) -> None:
    """Refuse comparing *field* with an expression of another type, or one whose value
    the database would see differently (a bound value inside Decimal arithmetic)."""
    result = _typed(expression, ctx)
    own = _family(field.kind)
    if result.family == "unknown":
        return
    numbers = {own, result.family} <= _NUMBERS
    if not numbers and own != result.family:
        raise FieldError(
            f"Cannot compare {field.label} ({type(field).__name__}) with {result.label}: "
            "their types differ; compare values of the same kind."
        )
    decimal = "decimal" in (own, result.family)
    if decimal and (
        not isinstance(expression, F) or result.places != getattr(field, "decimal_places", 0)
    ):
        raise FieldError(
            f"Comparing {field.label} with {result.label}: a Decimal compares with F() of a "
            "Decimal field with the same decimal_places only; filter by a value instead."
        )


def compile_assignment(
    field: Field, expression: Expression, ctx: CompileContext
) -> tuple[str, Plan]:
    """SQL computing *expression* for *field* in an UPDATE, and how to bind its values."""
    result = _typed(expression, ctx)
    _check_assignment(field, result, expression)
    leaves: dict[int, int] = {}
    _number_leaves(expression, leaves)
    plan: list[tuple[int, Callable[[Any], Any] | None]] = []
    scaled = ctx.dialect.decimal_is_scaled
    want = getattr(field, "decimal_places", 0) if _family(field.kind) == "decimal" else None
    sql = _emit(expression, ctx, want, leaves, plan, scaled)
    return sql, tuple(plan)


def assignment_params(plan: Plan, expression: Expression) -> list[Any]:
    """The bound values of a compiled assignment, in placeholder order."""
    values: list[Any] = []
    _leaf_values(expression, values)
    return [values[index] if adapt is None else adapt(values[index]) for index, adapt in plan]


def _leaf_values(expression: Expression, values: list[Any]) -> None:
    if isinstance(expression, Value):
        values.append(expression.value)
    elif isinstance(expression, Combined):
        _leaf_values(expression.lhs, values)
        _leaf_values(expression.rhs, values)


def _number_leaves(expression: Expression, leaves: dict[int, int]) -> None:
    if isinstance(expression, Value):
        leaves[id(expression)] = len(leaves)
    elif isinstance(expression, Combined):
        _number_leaves(expression.lhs, leaves)
        _number_leaves(expression.rhs, leaves)


def _emit(
    expression: Expression,
    ctx: CompileContext,
    want: int | None,
    leaves: dict[int, int],
    plan: list[tuple[int, Callable[[Any], Any] | None]],
    scaled: bool,
) -> str:
    """SQL of *expression*; *want* is the decimal places a decimal result is expressed in."""
    if isinstance(expression, F):
        sql = ctx.column(expression.name)
        if want is None or not scaled:
            return sql
        field = ctx.field(expression.name)
        places = getattr(field, "decimal_places", 0)  # an integer field has none
        return sql if places == want else f"({sql} * {10 ** (want - places)})"
    if isinstance(expression, Value):
        plan.append((leaves[id(expression)], _value_adapter(expression.value, want, scaled)))
        return ctx.placeholder()
    assert isinstance(expression, Combined)
    operator = expression.operator
    lhs_want = rhs_want = want
    if operator == "*" and want is not None:
        # A Decimal times an integer: only the Decimal side carries the places.
        lhs_typed = _typed(expression.lhs, ctx)
        if lhs_typed.family == "decimal":
            rhs_want = None
        else:
            lhs_want = None
    lhs = _emit(expression.lhs, ctx, lhs_want, leaves, plan, scaled)
    rhs = _emit(expression.rhs, ctx, rhs_want, leaves, plan, scaled)
    if operator in ("/", "%"):
        dialect = ctx.dialect
        again = (
            _emit(expression.rhs, ctx, rhs_want, leaves, plan, scaled)
            if dialect.repeats_divisor
            else ""
        )
        if operator == "/":
            return dialect.divide(lhs, rhs, again)
        return dialect.modulo(lhs, rhs, again)
    return f"({lhs} {operator} {rhs})"


def _value_adapter(value: Any, want: int | None, scaled: bool) -> Callable[[Any], Any]:
    kind = type(value)
    if kind is Decimal:
        places = want or 0

        def adapt_decimal(number: Any) -> Any:
            if type(number) is not Decimal or not number.is_finite():
                raise ValidationError(f"update() takes a finite Decimal here, got {number!r}.")
            shifted = number.scaleb(places)
            if shifted != shifted.to_integral_value():
                raise ValidationError(
                    f"update(): {number!r} has more than the {places} decimal places the field "
                    "keeps; round it first."
                )
            return int(shifted) if scaled else number

        return adapt_decimal
    if kind is float:

        def adapt_float(number: Any) -> Any:
            if number != number:
                raise ValidationError("update() cannot compute with NaN.")
            return number

        return adapt_float
    factor = 10**want if scaled and want else 1

    def adapt_int(number: Any) -> Any:
        if not _INT64[0] <= number <= _INT64[1]:
            raise ValidationError(
                f"update(): {number} is outside the 64-bit integers SQL computes with."
            )
        return number * factor

    return adapt_int
