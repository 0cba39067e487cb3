from os import PathLike
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

__version__: str

Id = Union[str, int]
EventLike = Union[Mapping[str, Any], str]
LineLike = Union[str, bytes, Mapping[str, Any]]
# Where the stream clock put an event: (seq, time in ms, late, the clock after it in ms).
Placement = Tuple[int, int, bool, int]
# A stateful hit found in one partition: (rule id, ids of the events that made it up).
StatefulHit = Tuple[str, List[str]]

class RulesError(ValueError):
    """Rule files or texts with errors, or a bundle that cannot be read (then no diagnostics).
    Each diagnostic has code, file, line, column, rule, message."""
    diagnostics: List[Dict[str, Any]]

class EventError(ValueError):
    """An event that cannot be read (not JSON, no text or amount, a bad time or amount)."""

class Hit:
    rule: str
    category: str
    score: int
    evidence: List[str]
    spans: List[Tuple[int, int]]
    events: List[str]

class Verdict:
    level: str
    score: int
    id: Optional[str]
    late: bool
    advice: List[str]
    hits: List[Hit]
    alert: bool
    def to_json(self) -> str: ...
    def to_dict(self) -> Dict[str, Any]: ...

class Monitor:
    def observe(self, event: EventLike) -> Verdict: ...
    def observe_batch(self, events: Sequence[EventLike]) -> List[Verdict]: ...

class Router:
    """Places a stream's lines in time, in input order, and names each one's partitions."""
    def __init__(self, engine: Engine, partitions: int, *, max_line_bytes: int = 8388608) -> None: ...
    @property
    def partitions(self) -> int: ...
    @property
    def fields(self) -> List[str]: ...
    def partition_of(self, value: str) -> int: ...
    # (partitions, placement, None), or ([], None, the error `fanzha scan` would print).
    def route(self, line: LineLike) -> Tuple[List[int], Optional[Placement], Optional[str]]: ...

class PartitionMonitor:
    """The state of one partition's key values; observe its events in input order."""
    def __init__(self, engine: Engine, partitions: Union[int, Router], index: int) -> None: ...
    # Per event: (its verdict as JSON, final if routed here alone; this partition's stateful hits).
    def observe_placed(self, events: Sequence[Tuple[LineLike, Placement]]) -> List[Tuple[str, List[StatefulHit]]]: ...

class Engine:
    @staticmethod
    def bundled() -> Engine: ...
    @staticmethod
    def from_path(path: Union[str, PathLike[str]]) -> Engine: ...
    @staticmethod
    def from_str(text: str, name: str = "rules.toml") -> Engine: ...
    @staticmethod
    def from_texts(texts: Union[Mapping[str, str], Sequence[Tuple[str, str]]]) -> Engine: ...
    # Compiled rules (`fanzha compile -o rules.fzb`, or `to_bundle()`): the bytes, or a file's
    # path. A damaged, truncated or foreign bundle raises RulesError (no diagnostics).
    @staticmethod
    def from_bundle(bundle: Union[bytes, bytearray, memoryview, str, PathLike[str]]) -> Engine: ...
    def to_bundle(self) -> bytes: ...
    def reload(
        self, path: Optional[Union[str, PathLike[str]]] = None, text: Optional[str] = None, name: str = "rules.toml"
    ) -> None: ...
    @property
    def rules_version(self) -> str: ...
    # Mask phone, ID card and bank card numbers in evidence but their last four digits.
    mask_personal_data: bool
    def scan(
        self,
        text: str,
        *,
        sender: Optional[Id] = None,
        conversation: Optional[Id] = None,
        ts: Optional[Union[str, int]] = None,
        channel: Optional[str] = None,
        id: Optional[Id] = None,
    ) -> Verdict: ...
    def scan_event(self, event: EventLike) -> Verdict: ...
    def scan_batch(self, events: Sequence[EventLike]) -> List[Verdict]: ...
    def monitor(self) -> Monitor: ...
    # The final verdict (JSON) of an event routed to several partitions, from each one's hits.
    def merge(self, event: LineLike, late: bool, partials: Sequence[Sequence[StatefulHit]]) -> str: ...
