# Copyright (c) OpenMMLab. All rights reserved.
"""The ``distill_inputs`` of a distiller, declared as data.

A distiller has two tables:

* ``SOURCES``: source name -> :class:`Source`, what a term reading it
  receives and which keys (beyond ``source`` and ``scheduled``) it takes;
* ``TERM_KEYS``: key -> :class:`TermKey`, its default, allowed values or
  check.

:func:`parse_term` validates one ``distill_inputs`` entry against both, in
one place for every distiller: unknown keys, unknown sources, keys given to
a source that does not take them, values outside their choices. Rules that
tie fields together stay in the distiller's ``_parse_term``. Adding a source
is one row in ``SOURCES`` plus its branch of ``_term``
(``docs/architecture.md``).
"""
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

__all__ = ['Source', 'TermKey', 'parse_term', 'BASE_KEYS']

#: Keys every source takes.
BASE_KEYS = ('source', 'scheduled')


@dataclass(frozen=True)
class Source:
    """One row of a distiller's ``SOURCES`` table.

    Args:
        doc (str): What a term reading the source receives.
        keys (tuple[str]): The ``TERM_KEYS`` it takes besides ``source`` and
            ``scheduled``.
    """
    doc: str
    keys: Tuple[str, ...] = ()


@dataclass(frozen=True)
class TermKey:
    """One row of a distiller's ``TERM_KEYS`` table.

    Args:
        default: The value of a term that does not give the key (also what
            an explicit None means when the default is None).
        choices (tuple, optional): The allowed values.
        check (callable, optional): ``check(value) -> bool`` for values
            without a fixed set of choices.
        expected (str): What ``check`` accepts, for the message.
    """
    default: Any = None
    choices: Optional[Tuple[Any, ...]] = None
    check: Optional[Callable[[Any], bool]] = None
    expected: str = ''


def _quoted(names) -> str:
    names = [repr(n) for n in names]
    if len(names) == 1:
        return f'source {names[0]}'
    return f"sources {', '.join(names[:-1])} and {names[-1]}"


def parse_term(name: str, spec: Any, sources: Mapping[str, Source],
               keys: Mapping[str, TermKey]) -> Dict[str, Any]:
    """Validate one ``distill_inputs`` entry and fill in the defaults.

    Args:
        name (str): The term.
        spec (str | dict): Its entry: a source name or a dict with
            ``source`` and keys of ``keys``.
        sources (Mapping[str, Source]): The distiller's sources.
        keys (Mapping[str, TermKey]): The distiller's term keys.

    Returns:
        dict: ``source``, ``scheduled`` and every key of ``keys`` (given or
        default).

    Raises:
        TypeError: If the entry is neither a source name nor a dict.
        ValueError: For an unknown key or source, a key the source does not
            take, or a value the key does not allow.
    """
    if isinstance(spec, str):
        spec = dict(source=spec)
    if not isinstance(spec, Mapping):
        raise TypeError(f'distill_inputs[{name!r}] must be a source name or '
                        f'a dict, but got {spec!r}.')
    spec = dict(spec)
    valid = list(BASE_KEYS) + list(keys)
    unknown = sorted(set(spec) - set(valid))
    if unknown:
        raise ValueError(f'distill_inputs[{name!r}] has unknown keys '
                         f'{unknown}; valid keys: {valid}.')
    source = spec.get('source')
    if source not in sources:
        raise ValueError(f'distill_inputs[{name!r}] has source {source!r}; '
                         f'valid sources: {list(sources)}.')
    term = dict(source=source, scheduled=bool(spec.get('scheduled', True)))
    for key, row in keys.items():
        value = spec.get(key, row.default)
        if value is None and row.default is None:
            term[key] = None
            continue
        if key in spec and key not in sources[source].keys:
            takers = [s for s, r in sources.items() if key in r.keys]
            raise ValueError(f'distill_inputs[{name!r}]: {key!r} applies to '
                             f'{_quoted(takers)}, not {source!r}.')
        if row.choices is not None and value not in row.choices:
            raise ValueError(f'distill_inputs[{name!r}][{key!r}] must be one '
                             f'of {row.choices}, but got {value!r}.')
        if row.check is not None and not row.check(value):
            raise ValueError(f'distill_inputs[{name!r}][{key!r}] must be '
                             f'{row.expected}, but got {value!r}.')
        term[key] = value
    return term
