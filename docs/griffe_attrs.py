"""Griffe extension: the constructors of attrs classes, and enum members as such.

Griffe reads the source, where an attrs class has no `__init__`: mkdocstrings would
show no constructor signature. For every attrs class, this extension builds one from
the runtime class's fields (their order, `kw_only`, aliases, defaults) and the
source's annotations (so `Array` stays `Array`), for `merge_init_into_class` to show,
as in `Optimizer(objective, *, step_rule, ...)`. It also writes the source's
annotations and the signature's spelling of defaults (`Mode.DESCENT`, `-inf`) into
the field tables `griffe_fieldz` adds (which otherwise expand type aliases and show
`repr`s such as `array(-inf)`), lists the fields a class inherits from a private
base (`Adam`'s from `_AdamMoments`) with their docstrings, shows a private base's
public bases in its place (`Bases: LearningRateRule[AdamState]`), and labels the
members of enums `enum-member`.

Loaded by mkdocstrings from mkdocs.yml; not part of the site.
"""

import enum
import logging

import attrs
import griffe
import numpy as np

_logger = logging.getLogger("mkdocs.plugins.griffe_attrs")
_MAX_DEFAULT = 40


def _default(value):
    """The source-like text of a field's default."""
    if isinstance(value, attrs.Factory):  # type: ignore[arg-type]
        factory = value.factory
        return f"{getattr(factory, '__name__', 'factory')}()"
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()  # a converter's scalar: `-inf`, not `array(-inf)`
    text = repr(value)
    return text if len(text) <= _MAX_DEFAULT else "..."


def _static_annotation(cls, name, runtime=None):
    """The source's annotation of field `name`, looked up the class's bases too."""
    member = cls.all_members.get(name)
    if isinstance(member, griffe.Attribute) and member.annotation is not None:
        return member.annotation
    for base in getattr(runtime, "__mro__", ())[1:]:
        try:
            owner = cls.modules_collection[f"{base.__module__}.{base.__qualname__}"]
        except (KeyError, AttributeError):
            continue
        member = owner.members.get(name)
        if isinstance(member, griffe.Attribute) and member.annotation is not None:
            return member.annotation
    return None


def _constructor(cls, runtime):
    parameters = [
        griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword)
    ]
    for field in attrs.fields(runtime):
        if not field.init:
            continue
        kind = (
            griffe.ParameterKind.keyword_only
            if field.kw_only
            else griffe.ParameterKind.positional_or_keyword
        )
        annotation = _static_annotation(cls, field.name, runtime)
        if annotation is None and isinstance(field.type, str):
            annotation = field.type
        default = None if field.default is attrs.NOTHING else _default(field.default)
        parameters.append(
            griffe.Parameter(
                field.alias or field.name,
                annotation=annotation,
                kind=kind,
                default=default,
            )
        )
    # attrs orders keyword-only fields last, as Python requires.
    parameters.sort(key=lambda p: p.kind is griffe.ParameterKind.keyword_only)
    return griffe.Function(
        "__init__",
        parameters=griffe.Parameters(*parameters),
        returns="None",
        lineno=cls.lineno,
        endlineno=cls.lineno,
    )


def _field_docstring(cls, name):
    """The docstring under field `name`, in the class or the base that declares it."""
    member = cls.all_members.get(name)  # an inherited one is an alias
    try:
        docstring = None if member is None else member.docstring
    except griffe.AliasResolutionError:
        return None
    return None if docstring is None else docstring.value


def _field_tables(cls, runtime):
    """Complete and correct the field tables of `griffe_fieldz`.

    Every field the constructor takes is listed, inherited ones included (with
    the docstring written under the field in the base class), with the source's
    annotation and the default as the signature spells it.
    """
    if cls.docstring is None:
        cls.docstring = griffe.Docstring("", parent=cls)
    sections = cls.docstring.parsed
    fields = {field.alias or field.name: field for field in attrs.fields(runtime)}
    parameters = next((s for s in sections if s.kind.value == "parameters"), None)
    listed = set() if parameters is None else {item.name for item in parameters.value}
    missing = [
        name
        for name, field in fields.items()
        if field.init and not name.startswith("_") and name not in listed
    ]
    if missing:
        if parameters is None:
            parameters = griffe.DocstringSectionParameters([])
            sections.append(parameters)
        for name in missing:
            parameters.value.append(
                griffe.DocstringParameter(
                    name, description=_field_docstring(cls, name) or ""
                )
            )
        order = list(fields)  # the constructor's order, as in the signature
        parameters.value.sort(
            key=lambda item: order.index(item.name) if item.name in order else -1
        )
    for section in sections:
        if section.kind.value not in ("parameters", "attributes"):
            continue
        for item in section.value:
            annotation = _static_annotation(cls, item.name, runtime)
            if annotation is not None:
                item.annotation = annotation
            field = fields.get(item.name)
            if field is not None and section.kind.value == "parameters":
                item.value = (
                    None if field.default is attrs.NOTHING else _default(field.default)
                )


def _public_bases(cls):
    """The class's bases, a private one (`_AdamMoments`) replaced by its own."""
    bases = []
    for base in cls.bases:
        path = getattr(base, "canonical_path", None)
        name = str(path or base).rsplit(".", 1)[-1]
        owner = None
        if name.startswith("_") and path is not None:
            try:
                owner = cls.modules_collection[path]
            except KeyError:
                owner = None
        if owner is not None and owner.is_class:
            bases += _public_bases(owner)
        else:
            bases.append(base)
    unique = []
    for base in bases:
        if str(base) not in {str(b) for b in unique}:
            unique.append(base)
    return unique


def _classes(obj):
    """Every class defined in a module or class, nested ones included."""
    for member in obj.members.values():
        if member.is_alias:
            continue
        if member.is_class:
            yield member
        if member.is_class or member.is_module:
            yield from _classes(member)


class AttrsConstructors(griffe.Extension):
    """Give attrs classes their `__init__` and enum members their label."""

    _bases: frozenset[str] = frozenset()

    def on_class(self, *, cls, **kwargs):
        """Runs once the whole package is loaded (inherited members are known)."""
        try:
            runtime = griffe.dynamic_import(cls.path)
        except ImportError:
            return
        if not isinstance(runtime, type):
            return
        if attrs.has(runtime) and "__init__" not in cls.members:
            cls.set_member("__init__", _constructor(cls, runtime))
            _field_tables(cls, runtime)
        # Griffe finds inherited members through the bases: replace a private base
        # only on a public class that no other class derives from, once its own
        # tables are done.
        if not cls.name.startswith("_") and cls.path not in self._bases:
            cls.bases = _public_bases(cls)
        if issubclass(runtime, enum.Enum):
            for name in runtime.__members__:
                if name in cls.members:
                    cls.members[name].labels = {"enum-member"}

    def on_package(self, *, pkg, **kwargs):
        """Runs first: note which classes are bases of others (see `on_class`)."""
        self._bases = {
            str(getattr(base, "canonical_path", base))
            for cls in _classes(pkg)
            for base in cls.bases
        }
