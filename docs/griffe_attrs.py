"""Griffe extension: the constructors of attrs classes, and enum members as such.

Griffe reads the source, where an attrs class has no `__init__`: mkdocstrings would
show no constructor signature. For every attrs class, this extension builds one from
the runtime class's fields (their order, `kw_only`, aliases, defaults) and the
source's annotations (so `Array` stays `Array`), for `merge_init_into_class` to show,
as in `Optimizer(objective, *, step_rule, ...)`. It also writes the source's
annotations into the field tables `griffe_fieldz` adds (which otherwise expand type
aliases), and labels the members of enums `enum-member`.

Loaded by mkdocstrings from mkdocs.yml; not part of the site.
"""

import enum
import logging

import attrs
import griffe

_logger = logging.getLogger("mkdocs.plugins.griffe_attrs")
_MAX_DEFAULT = 40


def _default(value):
    """The source-like text of a field's default."""
    if isinstance(value, attrs.Factory):  # type: ignore[arg-type]
        factory = value.factory
        return f"{getattr(factory, '__name__', 'factory')}()"
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
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


def _static_field_types(cls):
    """Put the source's annotations into the field tables of `griffe_fieldz`."""
    if cls.docstring is None:
        return
    for section in cls.docstring.parsed:
        if section.kind.value not in ("parameters", "attributes"):
            continue
        for item in section.value:
            annotation = _static_annotation(cls, item.name)
            if annotation is not None:
                item.annotation = annotation


class AttrsConstructors(griffe.Extension):
    """Give attrs classes their `__init__` and enum members their label."""

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
            _static_field_types(cls)
        if issubclass(runtime, enum.Enum):
            for name in runtime.__members__:
                if name in cls.members:
                    cls.members[name].labels = {"enum-member"}
